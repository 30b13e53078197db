"""Benchmark (issues 8, 13 and 30): how fast the answer reaches the learner, ours (Go) vs the
seed lesson (Python). In notebooks: the lesson's streaming cell through a round of what a
student does (a new question, an identical re-run, a new system prompt, exercise 3's edit),
with where GoNB's time goes, against the practice server at its own pace and again at a
slower first token (a web-search answer), and the first session after `make lab` (kernel
start, the cells before the streaming cell, its first run); in the terminal; then the
notebooks against the local model if it is available. Rewrites docs/benchmarks.md and
docs/benchmarks.svg and prints the tables.

Then (issues 22, 30) the same round in one kernel per GoNB patch level
(kernel-setup/gonb-patches), interleaved with the seed: each patch's share.

    .venv/bin/python bench/run.py [--runs 5] [--patch-runs N] [--no-local] [--no-terminal]
"""
import argparse
import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ in the work tree
BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")
LOCK = os.path.join(BENCH, "requirements.lock")
BINARY = os.path.join(REPO, "build", "bench", "streamdemo")
LOGS = os.path.join(REPO, "build", "bench")


def in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(REPO, ".venv"))


def pins():
    with open(LOCK) as f:
        return [line.split("==") for line in (l.strip() for l in f) if line and not line.startswith("#")]


def ensure_python_deps():
    """Install bench/requirements.lock into .venv only if one of its pins is missing."""
    missing = []
    for name, version in pins():
        try:
            if importlib.metadata.version(name) != version:
                missing.append(f"{name}=={version}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(f"{name}=={version}")
    if missing:
        print(f"==> installing into .venv: {' '.join(missing)}", flush=True)
        subprocess.run([os.path.join(REPO, ".venv", "bin", "pip"), "install", "-q", "--no-deps", "-r", LOCK],
                       check=True, timeout=600)


def build():
    os.makedirs(LOGS, exist_ok=True)
    print("==> go build -o build/bench/streamdemo ./cmd/streamdemo", flush=True)
    subprocess.run(["go", "build", "-o", BINARY, "./cmd/streamdemo"], cwd=REPO, check=True, timeout=600)


def output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine(ollama_version):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    osname = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), "?")
    deps = {}
    for line in output(["go", "version", "-m", BINARY]).splitlines() + output(["go", "version", "-m", os.path.join(REPO, ".tools", "bin", "gonb")]).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("mod", "dep") and parts[1].endswith(("/gonb", "/go-openai")):
            deps[parts[1].rsplit("/", 1)[1]] = parts[2]
    py = ", ".join(f"{n} {importlib.metadata.version(n)}" for n in
                   ("openai", "python-dotenv", "httpx2", "pydantic", "jupyter_client", "ipykernel", "pyzmq"))
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores (nproc {output(['nproc'])})",
        "Memory": f"{mem / 1024 / 1024:.1f} GiB",
        "OS": f"{osname}, Linux {platform.release()}",
        "Go": output(["go", "version"]) + f"; go-openai {deps.get('go-openai', '?')}; GoNB {deps.get('gonb', '?')}",
        "Python": f"{platform.python_version()}; {py}",
        "curl": output(["curl", "--version"]).splitlines()[0].split(" (")[0] if output(["curl", "--version"]) != "?" else "?",
        "Ollama": ollama_version or "not used",
    }


def main():
    if not in_venv():
        if not os.path.exists(VENV_PYTHON):
            sys.exit("bench/run.py needs .venv: run `make setup` first")
        os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="warm runs per client, after one warm-up run (default 5)")
    parser.add_argument("--no-local", action="store_true", help="skip the local-model (Ollama) comparison")
    parser.add_argument("--first-token", default="600ms",
                        help="practice server's first-token delay (default 600ms, the server's own default)")
    parser.add_argument("--slow-first-token", default="1.5s",
                        help="the practice server's first-token delay for the second run of the lesson cell (default 1.5s)")
    parser.add_argument("--tps", type=float, default=40, help="practice server's tokens per second (default 40, its own)")
    parser.add_argument("--patch-tps", type=float, default=1000,
                        help="tokens per second of the practice server in the comparison of GoNB's patches (default 1000)")
    parser.add_argument("--no-terminal", action="store_true", help="skip the terminal comparison")
    parser.add_argument("--patch-runs", type=int, default=None,
                        help="warm runs per kernel in the comparison of GoNB's patches (default: --runs)")
    parser.add_argument("--docs", default=os.path.join(REPO, "docs"), help="where benchmarks.md and .svg go")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups on kill too

    began = time.time()
    load_before = os.getloadavg()
    ensure_python_deps()
    sys.path.insert(0, BENCH)
    import edits, levers, notebook, patches, probe, report, servers, terminal  # noqa: E401  (after the dependencies are in)
    build()

    def progress(line):
        print(f"[{time.time() - began:5.0f}s] {line}", flush=True)

    r = {"runs": args.runs, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "command": " ".join([".venv/bin/python bench/run.py"] + sys.argv[1:]),
         "server": {"first_token": args.first_token, "tps": f"{args.tps:g}"}, "local": None, "terminal": None}
    gonb = probe.Probe(os.path.join(LOGS, "probe"))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (gonb.jupyter_path, os.environ.get("JUPYTER_PATH")) if p)
    kernels_log = os.path.join(LOGS, "kernels.log")
    with servers.PracticeServer(BINARY, os.path.join(LOGS, "practice-server.log"), args.first_token, args.tps) as server:
        progress(f"practice server on {server.base_url}; notebooks (kernel log: build/bench/kernels.log)")
        with notebook.Notebooks(server.base_url, kernels_log, probe=gonb) as nbs:
            r["notebook"] = {"results": nbs.measure(args.runs, server, progress=progress, trace_builds=True),
                             "setup": nbs.setup}
            progress("the edited cell's build under each kernel environment setting")
            r["levers"] = levers.measure(nbs.variants[0].tmpdir, gonb.env, LOGS, args.runs, progress=progress)
        lesson = r["notebook"]["results"][(edits.LESSON_CELL, edits.IDENTICAL)]
        r["server"]["chunks"] = len(lesson[notebook.GO][0].delays)
        r["server"]["answer_bytes"] = lesson[notebook.GO][0].answer_bytes
        if args.no_terminal:
            r["terminal_note"] = "--no-terminal was given."
        else:
            progress("terminal")
            r["terminal"] = terminal.measure(BINARY, server, args.runs, progress=progress)
    with servers.PracticeServer(BINARY, os.path.join(LOGS, "practice-server-patches.log"), args.first_token,
                                args.patch_tps) as server:
        progress(f"each GoNB patch's share: GoNB with 0..all patches, a kernel each, and the seed, taking turns "
                 f"(practice server at {args.patch_tps:g} tokens/s)")
        levels = patches.variants(os.path.join(LOGS, "patches"), progress=progress)
        os.environ["JUPYTER_PATH"] = os.pathsep.join([p.jupyter_path for _, p, _ in levels] + [os.environ["JUPYTER_PATH"]])
        with notebook.Notebooks(server.base_url, kernels_log, go_variants=levels) as nbs:
            r["patches"] = {"results": nbs.measure(args.patch_runs or args.runs, server, progress=progress),
                            "runs": args.patch_runs or args.runs, "tps": f"{args.patch_tps:g}"}
    with servers.PracticeServer(BINARY, os.path.join(LOGS, "practice-server-slow.log"), args.slow_first_token, args.tps) as server:
        progress(f"notebooks again, the practice server's first token at {args.slow_first_token}")
        with notebook.Notebooks(server.base_url, kernels_log, probe=gonb) as nbs:
            r["slow"] = {"results": nbs.measure(args.runs, server, progress=progress, steps=(edits.NEW_QUESTION, edits.IDENTICAL)),
                         "first_token": args.slow_first_token}

    ollama_version = None
    if args.no_local:
        r["local_note"] = "--no-local was given."
    else:
        progress("local model")
        local = servers.LocalModel(REPO)
        try:
            if not local.ready:
                r["local_note"] = local.reason + "."
                progress(f"local model skipped: {local.reason}")
            else:
                import seed
                local.warm_up([{"role": "system", "content": seed.SYSTEM_PROMPT}, {"role": "user", "content": seed.QUESTION}])
                ollama_version = servers.get_json("http://127.0.0.1:11434/api/version").get("version")
                with notebook.Notebooks(servers.OLLAMA_URL, kernels_log, local_model=servers.LOCAL_MODEL,
                                        temperature_0=True, probe=gonb) as nbs:
                    results = nbs.measure(args.runs, progress=progress, steps=(edits.NEW_QUESTION, edits.IDENTICAL))
                note = ("The benchmark started it with `kernel-setup/model-server.sh start` and stopped it afterwards."
                        if local.started else "It was already running; the benchmark left it running.")
                r["local"] = {"results": results, "setup": nbs.setup_s, "note": note}
        finally:
            local.stop()

    r["duration"] = time.time() - began
    r["machine"] = machine(ollama_version)
    load_after = os.getloadavg()
    r["machine"]["Load average (1, 5, 15 min)"] = (f"{' / '.join(f'{x:.2f}' for x in load_before)} before, "
                                                   f"{' / '.join(f'{x:.2f}' for x in load_after)} after")
    raw = {"terminal": {c: [dataclasses.asdict(run) for run in runs] for c, runs in (r["terminal"] or {}).items()}}
    for k in ("notebook", "slow", "local", "patches"):
        for (cell, case), clients in ((r.get(k) or {}).get("results") or {}).items():
            raw[f"{k}: {cell}, {case}"] = {c: [dataclasses.asdict(run) for run in runs] for c, runs in clients.items()}
    with open(os.path.join(LOGS, "results.json"), "w") as f:  # every run's raw numbers, for a closer look
        json.dump(raw, f)
    os.makedirs(args.docs, exist_ok=True)
    with open(os.path.join(args.docs, "benchmarks.md"), "w") as f:
        f.write(report.document(r))
    with open(os.path.join(args.docs, "benchmarks.svg"), "w") as f:
        f.write(report.chart(r["notebook"]["results"][(edits.LESSON_CELL, edits.NEW_QUESTION)],
                             f"A new question in each run: answer bytes visible over time (first token {args.first_token})"))
    print(report.console(r))
    print(f"wrote {os.path.relpath(os.path.join(args.docs, 'benchmarks.md'))} and benchmarks.svg in {r['duration']:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as e:
        sys.exit(f"bench/run.py: {type(e).__name__}: {e}")
