"""Notebook side: the seed's streaming cell in the python3 ipykernel and our lesson's
streaming cell in GoNB, driven over the Jupyter protocol with the Kernel of
notebooks/tests/kernel.py; every iopub message is stamped on receipt."""
import os
import sys
import time

import nbformat
from jupyter_client import KernelManager

import seed
from timing import BUILT, PRINTED, REQ, SENT, WROTE, Run, answer_arrivals, chunk_delays

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "notebooks", "tests"))
from kernel import Kernel  # noqa: E402  (notebooks/tests/kernel.py)

LESSON = os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb")
NOTEBOOKS = os.path.dirname(LESSON)  # GoNB's set-up cell needs ${GONB_DIR}/.. to be the repository
GO_CALL = 'client.ChatStream(context.Background(), "", messages)'
GO_CALL_TEMPERATURE_0 = 'client.Stream(context.Background(), streamdemo.Request{Messages: messages, Temperature: new(float32)})'


def lesson_cells():
    """Our lesson's cells before its streaming cell (set-up, .env, %noautoget) and the
    streaming cell (the first code cell that prints chunk.Text with the seed's system prompt)."""
    code = [c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code"]
    i = next(i for i, c in enumerate(code) if "Print(chunk.Text)" in c and "polite conversation with a user" in c)
    return code[:i], code[i]


def go_cell_temperature_0(cell):
    """The lesson's streaming cell asking for temperature 0, as the seed's does for the local model."""
    if cell.count(GO_CALL) != 1:
        raise ValueError(f"the lesson's streaming cell no longer calls {GO_CALL}")
    return cell.replace(GO_CALL, GO_CALL_TEMPERATURE_0)


class BenchKernel(Kernel):
    """notebooks/tests/kernel.py's Kernel for any kernel name, that also notes the wall
    clock when each execute request goes out."""

    def __init__(self, name, cwd, env, log_path, timeout=90):
        self.name, self.kc = name, None
        self.log = open(log_path, "a")
        self.km = KernelManager(kernel_name=name)
        start = time.time()
        try:
            self.km.start_kernel(cwd=cwd, env=env, stderr=self.log)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=timeout)
        except BaseException:
            self.close()
            raise
        self.ready_in = time.time() - start
        send = self.kc.execute

        def execute(code, *args, **kwargs):
            self.sent_at = time.time()
            return send(code, *args, **kwargs)
        self.kc.execute = execute

    def timed(self, code, timeout=90):
        """Run code; return (sent, idle, outputs): wall-clock seconds of the execute
        request and of the idle status, and [(seconds since sent, message)]."""
        offset = time.time() - time.monotonic()  # Kernel stamps with time.monotonic()
        messages = self.run(code, timeout=timeout)
        sent = self.sent_at
        return sent, self.idle_at + offset, [(m["t"] + offset - sent, m) for m in messages]

    def check(self, code, what, timeout=90):
        """Run a set-up cell; fail with its error if it has one; return its stdout."""
        _, _, outputs = self.timed(code, timeout)
        for _, m in outputs:
            if m["type"] == "error":
                raise RuntimeError(f"{self.name}: {what} failed: {m['content'].get('evalue', '')}")
        return "".join(m["content"]["text"] for _, m in outputs if m["type"] == "stream" and m["content"]["name"] == "stdout")

    def close(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)  # lets GoNB remove its temporary module
        finally:
            self.log.close()


class Variant:
    def __init__(self, label, kernel, cell, trailer="", tmpdir=None):
        self.label, self.kernel, self.cell = label, kernel, cell
        self.trailer = trailer   # printed after the answer and not part of it: the seed's "None"
        self.tmpdir = tmpdir     # GoNB's temporary module, to date its compile steps


def kernel_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMDEMO_", "OPENAI_", "PERPLEXITY_"))}
    env["PERPLEXITY_API_KEY"] = "bench-any-key"  # both sides read it; the practice server ignores it
    env.update(extra)
    return env


GO, PY = "Go lesson (GoNB)", "Python seed (ipykernel)"


class Notebooks:
    """The kernels, set up as their notebooks are: GoNB runs the lesson's set-up and .env
    cells, python3 the seed's In [1].
    Closes every kernel on exit, even on failure."""

    def __init__(self, base_url, log_path, local_model=None, temperature_0=False):
        prelude, stream = lesson_cells()
        go_env = {"STREAMDEMO_PROVIDER": "openai", "STREAMDEMO_BASE_URL": base_url}
        if local_model:
            go_env["STREAMDEMO_MODEL"] = local_model
        go_cell = go_cell_temperature_0(stream) if temperature_0 else stream
        py_cell = seed.streaming_cell(base_url, local_model, 0 if temperature_0 else None)
        self.log_path, self.kernels, self.setup_s, self.variants = log_path, [], {}, []
        try:
            self._go(GO, go_env, prelude, go_cell)
            self._python(PY, [seed.IN_1], py_cell)
        except BaseException:
            self.close()
            raise

    def _start(self, name, extra_env, cells):
        start = time.time()
        k = BenchKernel(name, NOTEBOOKS, kernel_env(extra_env), self.log_path)
        self.kernels.append(k)
        for i, cell in enumerate(cells):
            k.check(cell, f"set-up cell {i + 1} ({cell.splitlines()[0][:40]})")
        return k, time.time() - start

    def _go(self, label, env, cells, cell):
        k, self.setup_s[label] = self._start("gonb", env, cells)
        tmpdir = k.check("!echo $GONB_TMP_DIR", "finding GoNB's module").strip()
        self.variants.append(Variant(label, k, cell, tmpdir=tmpdir))

    def _python(self, label, cells, cell):
        k, self.setup_s[label] = self._start("python3", {}, cells)
        self.variants.append(Variant(label, k, cell, trailer="None"))

    def measure(self, runs, server=None, timeout=90, progress=print):
        """One warm-up run then `runs` warm runs of each streaming cell, rotating which
        goes first. With a practice server, per-chunk delays too."""
        results = {v.label: [] for v in self.variants}
        n = len(self.variants)
        for i in range(runs + 1):
            for v in self.variants[i % n:] + self.variants[:i % n]:
                sent, idle, outputs = v.kernel.timed(v.cell, timeout)
                stamps = server.last_stamps() if server else None
                run = analyse(v, sent, idle, outputs, stamps, server.first_token_s if server else None, warm=i > 0)
                results[v.label].append(run)
                progress(f"  {v.label:34} {'warm' if i else 'first'} run: first chunk {run.first:.3f} s, total {run.total:.3f} s")
        return results

    def close(self):
        for k in self.kernels:
            try:
                k.close()
            except Exception as e:  # keep closing the others
                print(f"closing the {k.name} kernel: {e}", file=sys.stderr)
        self.kernels = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def analyse(v, sent, idle, outputs, stamps, first_token_s, warm):
    for _, m in outputs:
        if m["type"] == "error":
            raise RuntimeError(f"{v.label}: the streaming cell failed: {m['content'].get('evalue', '')}")
    stdout = [(t, m["content"]["text"]) for t, m in outputs if m["type"] == "stream" and m["content"]["name"] == "stdout"]
    text = "".join(s for _, s in stdout)
    skip = 0
    if text.startswith("Answering with"):  # our cell's one line naming the provider
        skip = len(text.split("\n", 1)[0].encode()) + 1
    if stamps:
        limit = sum(s["bytes"] for s in stamps)
    else:
        limit = len(text.encode()) - skip - (len(v.trailer) if v.trailer and text.endswith(v.trailer) else 0)
    arrivals = answer_arrivals([(t, len(s.encode())) for t, s in stdout], skip, limit)
    if not arrivals or arrivals[-1][1] < limit:
        raise RuntimeError(f"{v.label}: expected {limit} answer bytes, got {arrivals[-1][1] if arrivals else 0}:\n{text[:500]}")
    run = Run(warm=warm, first=arrivals[0][0], total=idle - sent, arrivals=arrivals, answer_bytes=limit)
    if stamps:
        run.delays = chunk_delays(arrivals, stamps, sent)
        run.phases[REQ] = stamps[0]["unix_ns"] / 1e9 - first_token_s - sent
        run.phases[SENT] = stamps[0]["unix_ns"] / 1e9 - sent
    if v.tmpdir:
        run.phases.update(gonb_phases(v.tmpdir, sent))
        if skip:
            run.phases[PRINTED] = stdout[0][0]
    return run


def gonb_phases(tmpdir, sent):
    """When GoNB finished goimports (main.go written) and the build (go build rewrites
    or touches the binary even when it is up to date), in seconds since `sent`."""
    out = {}
    for name, path in ((WROTE, os.path.join(tmpdir, "main.go")),
                       (BUILT, os.path.join(tmpdir, os.path.basename(tmpdir)))):
        try:
            t = os.stat(path).st_mtime - sent
        except OSError:
            continue
        if t > 0:
            out[name] = t
    return out
