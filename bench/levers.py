"""What each setting of the kernel's environment does to the build of an edited cell: the
lesson cell GoNB last built, in a copy of its module, edited and built again and again
with `go build -o` as GoNB runs it, the settings taking turns; and the same program with
pkg/streamdemo/notebook linked in, as every cell of the lesson had it before issue 30 (its
import cell named notebook.Show)."""
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
WITH_NOTEBOOK = "both, and pkg/streamdemo/notebook linked (the lesson before issue 30)"
NOTEBOOK_IMPORT = '\nimport "github.com/streamdemo/streamdemo/pkg/streamdemo/notebook"\n\nvar _ = notebook.Show\n'
EDIT_MARK = "// edit "


def with_notebook(source):
    """The program with the notebook package imported and named, after its other imports."""
    head, sep, rest = source.partition("\n)\n")  # the end of GoNB's import block
    if not sep:
        raise ValueError("main.go has no import block to add the notebook package after")
    return head + sep + NOTEBOOK_IMPORT + rest


def measure(tmpdir, kernel_env, scratch, runs, progress=print):
    """{label: {"build": [s], "bytes": n}} for `runs` builds per setting (after one untimed
    build each, which may compile the standard library for that setting)."""
    work = tempfile.mkdtemp(dir=scratch)
    settings = SETTINGS + [(WITH_NOTEBOOK, {})]
    out = {label: {"build": [], "bytes": 0} for label, _ in settings}
    try:
        for name in ("go.mod", "go.sum", "main.go"):
            shutil.copy(os.path.join(tmpdir, name), work)
        with open(os.path.join(work, "main.go")) as f:
            source = f.read()
        for i in range(runs + 1):
            for label, changes in settings:
                program = with_notebook(source) if label == WITH_NOTEBOOK else source
                with open(os.path.join(work, "main.go"), "w") as f:
                    f.write(f"{program}\n{EDIT_MARK}{i} {label}\n")  # a new program: compiled and linked again
                binary = os.path.join(work, "cell")
                start = time.monotonic()
                subprocess.run(["go", "build", "-o", binary], cwd=work, env={**os.environ, **kernel_env, **changes},
                               check=True, capture_output=True, timeout=600)
                took = time.monotonic() - start
                if i:
                    out[label]["build"].append(took)
                    out[label]["bytes"] = os.path.getsize(binary)
            if i:
                progress(f"  build settings, round {i}: " + ", ".join(f"{out[l]['build'][-1]:.3f} s" for l, _ in settings))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def table(levers):
    """Markdown: median and spread of the build per setting, the binary's size, and the
    saving against GoNB's defaults."""
    base = median(levers[SETTINGS[0][0]]["build"])
    lines = ["| Kernel environment | `go build` of the edited cell, median (min–max), s | vs GoNB's defaults | Binary |",
             "|---|--:|--:|--:|"]
    for label in levers:
        b = levers[label]["build"]
        m = median(b)
        lines.append(f"| {label} | {m:.3f} ({min(b):.3f}–{max(b):.3f}) | {m - base:+.3f} s | "
                     f"{levers[label]['bytes'] / 1e6:.1f} MB |")
    return "\n".join(lines)
