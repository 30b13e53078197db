"""Where GoNB's time goes, without changing what it runs: a copy of the installed gonb
kernelspec (same argv, same environment) whose PATH starts with bench/probe/tool linked as
`go` and `goimports`, which note when each call starts and ends. And, outside the timed
runs, a rebuild of the cell GoNB just built, traced by `go build -debug-trace`, to split
`go build` into loading packages, compiling the cell and linking."""
import json
import os
import shutil
import string
import subprocess
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
KERNELSPEC = os.path.join(REPO, ".venv", "share", "jupyter", "kernels", "gonb", "kernel.json")
NAME = "gonb-probe"
TOOLS = ("go", "goimports")


class Probe:
    """Makes the gonb-probe kernelspec under root and reads what its tools logged."""

    def __init__(self, root, name=NAME, gonb=None, drop_flags=()):
        """gonb: another GoNB binary for the kernelspec to start, without the flags named in
        drop_flags (bench/patches.py: a GoNB without the patch that adds them)."""
        self.root, self.name = root, name
        self.log_path = os.path.join(root, "probe.log")
        tools = os.path.join(root, "tools")
        os.makedirs(tools, exist_ok=True)
        for tool in TOOLS:
            link = os.path.join(tools, tool)
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(os.path.join(BENCH, "probe", "tool"), link)
        with open(KERNELSPEC) as f:
            spec = json.load(f)
        env = dict(spec.get("env") or {})
        self.env = {k: string.Template(v).safe_substitute(os.environ) for k, v in env.items()}
        path = self.env.get("PATH", os.environ["PATH"])
        for tool in TOOLS:
            real = shutil.which(tool, path=path)
            if not real:
                raise RuntimeError(f"no {tool} on the gonb kernel's PATH ({path})")
            env[f"BENCH_PROBE_{tool.upper()}"] = real
        env.update(PATH=tools + os.pathsep + env.get("PATH", "${PATH}"), BENCH_PROBE_LOG=self.log_path)
        if gonb:
            spec["argv"][1] = gonb  # argv: supervisor, gonb, flags (kernel-setup/install.sh)
            spec["argv"] = [a for a in spec["argv"] if a.lstrip("-").split("=")[0] not in drop_flags]
        spec.update(env=env, display_name=f"Go ({name}, probed by bench/run.py)")
        kdir = os.path.join(root, "jupyter", "kernels", name)
        os.makedirs(kdir, exist_ok=True)
        with open(os.path.join(kdir, "kernel.json"), "w") as f:
            json.dump(spec, f, indent=1)
        open(self.log_path, "w").close()
        self.read_to = 0

    @property
    def jupyter_path(self):
        return os.path.join(self.root, "jupyter")

    def calls(self, since):
        """[(tool, first argument, start, end)] logged since the wall-clock time `since`."""
        with open(self.log_path) as f:
            f.seek(self.read_to)
            lines = f.read().splitlines()
            self.read_to = f.tell()
        out = []
        for line in lines:
            tool, arg, start, end = line.split()
            if float(start) >= since:
                out.append((tool, arg, float(start), float(end)))
        return out

    def traced_rebuild(self, tmpdir, scratch):
        """Rebuild GoNB's main.go (a comment appended, so the cell is compiled and linked
        again) in a copy of its module, with the kernel's environment and -debug-trace.
        Returns {step: seconds} for loading packages, compiling the cell, linking, and the
        whole `go build`."""
        work = tempfile.mkdtemp(dir=scratch)
        try:
            for name in ("go.mod", "go.sum", "main.go"):
                if os.path.exists(os.path.join(tmpdir, name)):
                    shutil.copy(os.path.join(tmpdir, name), work)
            with open(os.path.join(work, "main.go"), "a") as f:
                f.write(f"\n// traced rebuild {os.path.basename(work)}\n")
            trace = os.path.join(work, "trace.json")
            subprocess.run(["go", "build", "-debug-trace=" + trace, "-o", os.path.join(work, "cell"), "."],
                           cwd=work, env=dict(os.environ, **self.env), check=True, capture_output=True, timeout=300)
            with open(os.path.join(work, "go.mod")) as f:
                module = next(l.split()[1] for l in f if l.startswith("module "))
            return build_steps(trace, module)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def build_steps(trace_path, main_package):
    """Durations (s) of the steps of one `go build` of main_package, from its -debug-trace file."""
    with open(trace_path) as f:
        events = json.load(f)
    events = events if isinstance(events, list) else events["traceEvents"]
    begun, out = {}, {}
    for e in events:
        if e.get("ph") not in ("B", "E"):
            continue
        key = (e["name"], e.get("tid"))
        if e["ph"] == "B":
            begun[key] = e["ts"]
            continue
        if key not in begun:
            continue
        seconds, name = (e["ts"] - begun.pop(key)) / 1e6, e["name"]
        if name == "load.PackagesAndErrors":
            out["load packages"] = seconds
        elif name == f"Executing action (build {main_package})":
            out["compile the cell"] = seconds
        elif name.startswith("Executing action (link "):
            out["link"] = seconds
        elif name == "Running build command":
            out["go build"] = seconds
    return out
