"""What each setting of the kernel's environment does to the build of an edited cell: the
lesson cell GoNB last built, in a copy of its module, edited and built again and again
with `go build -o` as GoNB runs it, the settings taking turns."""
import os
import shutil
import subprocess
import tempfile
import time

from timing import median

# (label, environment changes from the installed kernel's)
SETTINGS = [
    ("GoNB's defaults: cgo on, symbol table and DWARF", {"CGO_ENABLED": "1", "GOFLAGS": ""}),
    ("`-ldflags=-s -w` only", {"CGO_ENABLED": "1", "GOFLAGS": "'-ldflags=-s -w'"}),
    ("`CGO_ENABLED=0` only", {"CGO_ENABLED": "0", "GOFLAGS": ""}),
    ("both, as kernel-setup installs the kernel", {}),
]
EDIT_MARK = "// edit "


def measure(tmpdir, kernel_env, scratch, runs, progress=print):
    """{label: {"build": [s], "bytes": n}} for `runs` builds per setting (after one untimed
    build each, which may compile the standard library for that setting)."""
    work = tempfile.mkdtemp(dir=scratch)
    out = {label: {"build": [], "bytes": 0} for label, _ in SETTINGS}
    try:
        for name in ("go.mod", "go.sum", "main.go"):
            shutil.copy(os.path.join(tmpdir, name), work)
        with open(os.path.join(work, "main.go")) as f:
            source = f.read()
        for i in range(runs + 1):
            for label, changes in SETTINGS:
                with open(os.path.join(work, "main.go"), "w") as f:
                    f.write(f"{source}\n{EDIT_MARK}{i} {label}\n")  # a new program: compiled and linked again
                binary = os.path.join(work, "cell")
                start = time.monotonic()
                subprocess.run(["go", "build", "-o", binary], cwd=work, env={**os.environ, **kernel_env, **changes},
                               check=True, capture_output=True, timeout=600)
                took = time.monotonic() - start
                if i:
                    out[label]["build"].append(took)
                    out[label]["bytes"] = os.path.getsize(binary)
            if i:
                progress(f"  build settings, round {i}: " + ", ".join(f"{out[l]['build'][-1]:.3f} s" for l, _ in SETTINGS))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def table(levers):
    """Markdown: median and spread of the build per setting, the binary's size, and the
    saving against GoNB's defaults."""
    base = median(levers[SETTINGS[0][0]]["build"])
    lines = ["| Kernel environment | `go build` of the edited cell, median (min–max), s | vs GoNB's defaults | Binary |",
             "|---|--:|--:|--:|"]
    for label, _ in SETTINGS:
        b = levers[label]["build"]
        m = median(b)
        lines.append(f"| {label} | {m:.3f} ({min(b):.3f}–{max(b):.3f}) | {m - base:+.3f} s | "
                     f"{levers[label]['bytes'] / 1e6:.1f} MB |")
    return "\n".join(lines)
