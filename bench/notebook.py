"""Notebook side: the seed's streaming cell in the python3 ipykernel and our lesson's
streaming cell in GoNB, driven over the Jupyter protocol with the Kernel of
lesson-harness/tests/kernel.py; every iopub message is stamped on receipt. Each round runs
the cell through the steps of edits.ROUND in every kernel in turn: a new question, an
identical re-run, a new system prompt, exercise 3's edit, then (not measured) the cell back
without exercise 3's sleep."""
import os
import secrets
import sys
import time

import edits
import seed
from edits import BACK, EXERCISE_3, LESSON_CELL, ROUND
from timing import (BUILD_END, BUILD_START, GET_END, IMPORTS_END, IMPORTS_START, PRINTED, REQ, SENT, Run,
                    answer_arrivals, chunk_delays)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lesson-harness", "tests"))
from kernel import Kernel  # noqa: E402  (lesson-harness/tests/kernel.py)

NOTEBOOKS = os.path.join(REPO, "notebooks")  # the kernel's folder: GoNB takes the module enclosing it


class BenchKernel(Kernel):
    """lesson-harness/tests/kernel.py's Kernel for any kernel name, with no set-up cell of
    its own (the benchmark runs the lesson's), timing what it runs."""

    def __init__(self, name, cwd, env, log_path, timeout=90):
        super().__init__(cwd, env, log_path, name=name, timeout=timeout, setup=None)

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


class Variant:
    """One kernel and the edits of its cell."""

    def __init__(self, label, kernel, editor, trailer="", tmpdir=None, probe=None):
        self.label, self.kernel, self.editor, self.probe = label, kernel, editor, probe
        self.trailer = trailer   # printed after the answer and not part of it: the seed's "None"
        self.tmpdir = tmpdir     # GoNB's temporary module


def kernel_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMDEMO_", "OPENAI_", "PERPLEXITY_"))}
    env["PERPLEXITY_API_KEY"] = "bench-any-key"  # both sides read it; the practice server ignores it
    env.update(extra)
    return env


GO, PY = "Go lesson (GoNB)", "Python seed (ipykernel)"


class Notebooks:
    """The kernels, set up as their notebooks are: GoNB runs the lesson's .env and
    %noautoget cells, python3 the seed's In [1]. With a probe (bench/probe.py), GoNB is its
    probed copy; with go_variants [(label, probe, cells to run first)], one GoNB kernel per
    entry. Closes every kernel on exit, even on failure."""

    def __init__(self, base_url, log_path, local_model=None, temperature_0=False, probe=None, go_variants=None):
        prelude, lesson = edits.lesson_cells()
        py_lesson = seed.streaming_cell(base_url, local_model or seed.CHAT_MODEL, 0 if temperature_0 else None)
        if temperature_0:
            lesson = edits.go_cell_temperature_0(lesson)
        go_env = {"STREAMDEMO_PROVIDER": "openai", "STREAMDEMO_BASE_URL": base_url}
        if local_model:
            go_env["STREAMDEMO_MODEL"] = local_model
        self.probe, self.nonce = probe, secrets.token_hex(2)
        self.log_path, self.kernels, self.setup, self.variants = log_path, [], {}, []
        try:
            for label, p, before in go_variants or [(GO, probe, [])]:
                self._go(label, go_env, before + prelude, lesson, p)
            self._python(PY, [seed.IN_1], py_lesson)
        except BaseException:
            self.close()
            raise

    @property
    def setup_s(self):
        """Kernel start and set-up cells, in seconds, per client."""
        return {label: sum(t for _, t, _ in steps) for label, steps in self.setup.items()}

    def _start(self, label, name, extra_env, cells, probe=None):
        start = time.time()
        k = BenchKernel(name, NOTEBOOKS, kernel_env(extra_env), self.log_path)
        self.kernels.append(k)
        self.setup[label] = [("kernel start", time.time() - start, "")]
        for i, cell in enumerate(cells):
            began = time.time()
            k.check(cell, f"set-up cell {i + 1} ({cell.splitlines()[0][:40]})")
            took = time.time() - began
            first = next(line for line in cell.splitlines() if line.strip() and not line.startswith("//"))
            calls = probe.calls(began) if probe else []
            detail = ", ".join(f"{tool if tool != 'go' else 'go ' + arg} {end - start:.2f} s" for tool, arg, start, end in calls)
            self.setup[label].append((f"`{first[:48]}{'…' if len(first) > 48 else ''}`", took, detail))
        return k

    def _go(self, label, env, cells, lesson, probe):
        k = self._start(label, probe.name if probe else "gonb", env, cells, probe)
        tmpdir = k.check("!echo $GONB_TMP_DIR", "finding GoNB's module").strip()
        self.variants.append(Variant(label, k, edits.Editor(lesson, go=True), tmpdir=tmpdir, probe=probe))

    def _python(self, label, cells, lesson):
        k = self._start(label, "python3", {}, cells)
        self.variants.append(Variant(label, k, edits.Editor(lesson, go=False), trailer="None"))

    def measure(self, runs, server=None, timeout=90, progress=print, trace_builds=False, steps=ROUND):
        """One first round, then `runs` rounds. Each round takes the cell through `steps`
        (edits.ROUND, or a part of it), every kernel in turn at each step, the order rotating
        each round. Returns {(cell, step): {client: [Run]}} for every step but BACK. With
        trace_builds, each GoNB run of exercise 3's edit is followed by a traced rebuild (not
        timed)."""
        results = {(LESSON_CELL, step): {v.label: [] for v in self.variants} for step in steps if step != BACK}
        n = len(self.variants)
        for i in range(runs + 1):
            order = self.variants[i % n:] + self.variants[:i % n]
            for step in steps:
                for v in order:
                    code = v.editor.code(step, i, self.nonce)
                    run = self._run(v, code, server, timeout, warm=i > 0)
                    if step == BACK:
                        continue
                    if trace_builds and step == EXERCISE_3 and i and v.tmpdir and v.probe:
                        run.steps = v.probe.traced_rebuild(v.tmpdir, os.path.dirname(self.log_path))
                    results[(LESSON_CELL, step)][v.label].append(run)
                    progress(f"  {v.label:24} {step:18} {'warm' if i else 'first'} run: "
                             f"first chunk {run.first:.3f} s, total {run.total:.3f} s")
        return results

    def _run(self, v, code, server, timeout, warm):
        sent, idle, outputs = v.kernel.timed(code, timeout)
        stamps = server.last_stamps() if server else None
        run = analyse(v, sent, idle, outputs, stamps, server.first_token_s if server else None, warm)
        if v.tmpdir and v.probe:
            run.phases.update(gonb_phases(v.probe.calls(sent), sent))
        return run

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
    if skip:
        run.phases[PRINTED] = stdout[0][0]
    return run


def gonb_phases(calls, sent):
    """GoNB's steps for one execution, from the probe's [(tool, argument, start, end)], in
    seconds since `sent`."""
    out = {}
    for tool, arg, start, end in calls:
        if tool == "goimports":
            out[IMPORTS_START], out[IMPORTS_END] = start - sent, end - sent
        elif arg == "get":
            out[GET_END] = end - sent
        elif arg == "build":
            out[BUILD_START], out[BUILD_END] = start - sent, end - sent
    return out
