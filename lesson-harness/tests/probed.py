"""A GoNB kernel for the tests of the patched GoNB (kernel-setup/gonb-patches): its `go` and
`goimports` are bench/probe's logging wrappers, so a test sees what each execution ran, and
its module takes example.com/lib from a folder the test writes. The cell's binary is watched
too: a link always writes a new one."""
import importlib.util
import os
import re
import shutil
import tempfile
import time

import pytest

from conftest import BUILD, REPO
from kernel import Kernel

# bench/probe.py: the kernelspec with a logging `go` (loaded by path: bench/ also has a run.py)
_spec = importlib.util.spec_from_file_location("bench_probe", os.path.join(REPO, "bench", "probe.py"))
probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe)

LIB_GO = 'package lib\n\n// Word is what the cell prints.\nfunc Word() string {{ return "{word}" }}\n'
LIB_CELL = '''import "example.com/lib"

%%
fmt.Println("word:", lib.Word(), "{}")'''  # a cell using the library, its tag to format in
CELL_LINE_HTML = re.compile(r'gonb-cell-line-info">Cell\[\d+\]: Line (\d+)</span>')


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class ProbedKernel(Kernel):
    """The kernel, started in build/ (inside this repository, whose module it takes by
    itself), with example.com/lib (lib.go's Word returns "one") from the folder self.lib.
    self.tmpdir is GoNB's module. Close it to remove everything it made."""

    def __init__(self, log_name):
        self.root = tempfile.mkdtemp(prefix="gonb-probed-")
        self.saved_path = os.environ.get("JUPYTER_PATH")
        try:
            self.probe = probe.Probe(os.path.join(self.root, "probe"))
            os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (self.probe.jupyter_path, self.saved_path) if p)
            self.lib = os.path.join(self.root, "lib")
            os.makedirs(self.lib)
            write(os.path.join(self.lib, "go.mod"), "module example.com/lib\n\ngo 1.24\n")
            write(os.path.join(self.lib, "lib.go"), LIB_GO.format(word="one"))
            env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMDEMO_")}
            super().__init__(cwd=os.path.join(REPO, "build"), env=env, log_path=os.path.join(BUILD, log_name),
                             name=self.probe.name, setup=self.require_lib())
            self.run("%noautoget")
            self.tmpdir = self.run("!echo $GONB_TMP_DIR")[0]["content"]["text"].strip()
        except BaseException:
            self.close()
            raise

    def require_lib(self):
        return f"!*go mod edit -require=example.com/lib@v0.0.0 -replace=example.com/lib={self.lib}"

    def binary(self):
        """(inode, mtime, size) of the cell's program, or None: every link writes a new file."""
        try:
            st = os.stat(os.path.join(self.tmpdir, os.path.basename(self.tmpdir)))
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def close(self):
        try:
            if hasattr(self, "log"):  # the kernel was started
                super().close()
        finally:
            if self.saved_path is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = self.saved_path
            shutil.rmtree(self.root, ignore_errors=True)


def module_kernel(log_name):
    """A pytest fixture: one ProbedKernel for a test module, its log in build/test/log_name."""
    @pytest.fixture(scope="module")
    def kernel():
        k = ProbedKernel(log_name)
        yield k
        k.close()
    return kernel


def run(kernel, code):
    """Run code; return (stdout, stderr, shown HTML, errors, the go subcommands it ran and
    "goimports" for each goimports run)."""
    since = time.time()
    messages = kernel.run(code)
    time.sleep(0.05)  # the wrapper logs a call when it ends
    text = lambda name: "".join(m["content"]["text"] for m in messages  # noqa: E731
                                if m["type"] == "stream" and m["content"]["name"] == name)
    html = "".join(m["content"]["data"].get("text/html", "") for m in messages if m["type"] == "display_data")
    errors = [m for m in messages if m["type"] == "error"]
    go = [arg if tool == "go" else tool for tool, arg, _, _ in kernel.probe.calls(since)]
    return text("stdout"), text("stderr"), html, errors, go
