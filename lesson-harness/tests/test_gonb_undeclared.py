"""A cell run before the cell that declares what it uses (after a kernel restart, say) is told in
one sentence which cell to run first, not the compiler's `undefined: client`
(kernel-setup/gonb-patches/0008): the kernel reads the saved notebook Jupyter Server names in
$JPY_SESSION_NAME. A typo, or any other error, is the compiler's report as before. Through a real
kernel, on a notebook of its own."""
import json
import os

import pytest

from conftest import BUILD, REPO
from kernel import Kernel
from probed import CELL_LINE_HTML

SETUP = '''// ▶ Run me first: the greeting and the counter every cell below uses.
%noautoget
var greeting = "Hello"
var count, countErr = 3, error(nil)

%%
fmt.Println("ready")'''

USES = '''%%
fmt.Println(greeting, count)'''

TYPO = '''%%
fmt.Println(greting)'''

WANT = ("This cell uses greeting and count, declared in the cell that starts “// ▶ Run me first: the greeting and "
        "the counter every cell…”: run that cell first (a restarted kernel has forgotten every cell it ran).")


@pytest.fixture
def kernel(tmp_path):
    """A fresh kernel started from a saved notebook, as Jupyter Server starts one."""
    notebook = os.path.join(BUILD, "undeclared.ipynb")  # inside the repository, as lessons are
    with open(notebook, "w", encoding="utf-8") as f:
        json.dump({"cells": [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# A lesson"}] +
                   [{"cell_type": "code", "id": name, "metadata": {}, "outputs": [], "execution_count": None,
                     "source": source} for name, source in (("setup", SETUP), ("uses", USES))],
                   "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, f)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMDEMO_")}
    env["JPY_SESSION_NAME"] = notebook
    k = Kernel(cwd=BUILD, env=env, log_path=os.path.join(BUILD, "undeclared-kernel.log"))
    try:
        yield k
    finally:
        k.close()
        os.unlink(notebook)


def outcome(messages):
    errors = [m["content"] for m in messages if m["type"] == "error"]
    shown = "".join(m["content"]["data"].get("text/html", "") for m in messages if m["type"] == "display_data")
    out = "".join(m["content"]["text"] for m in messages if m["type"] == "stream")
    return errors, shown, out


def test_a_cell_run_too_early_says_which_cell_to_run_first(kernel):
    errors, shown, out = outcome(kernel.run(USES))
    assert [(e["evalue"], e["traceback"]) for e in errors] == [(WANT, [WANT])], errors
    assert shown == "" and out == "", "the compiler's report was shown as well"

    errors, _, out = outcome(kernel.run(SETUP))
    assert (errors, out) == ([], "ready\n")
    errors, _, out = outcome(kernel.run(USES))
    assert (errors, out) == ([], "Hello 3\n")


def test_a_typo_is_the_compilers_error(kernel):
    errors, shown, _ = outcome(kernel.run(TYPO))
    assert errors and "greting" not in errors[0]["evalue"].split(":")[0], errors
    assert "undefined: greting" in shown and CELL_LINE_HTML.findall(shown) == ["2"], shown[-800:]


def test_the_patchs_own_go_tests_pass(tmp_path):
    """The Go tests the patch carries for upstream, on the kernel's own patched source: a copy of the
    build's module (kernel-setup/gonb-build.sh), which may add the tests' own requirements (testify,
    at the version GoNB's go.mod names)."""
    import shutil
    import subprocess
    built = os.path.join(REPO, ".tools", "gonb-src", "gonb")
    mod = tmp_path / "mod"
    shutil.copytree(os.path.join(built, "mod"), mod)
    subprocess.run(["go", "mod", "edit", "-replace=github.com/janpfeifer/gonb=" + os.path.join(built, "src")], cwd=mod, check=True)
    out = subprocess.run(["go", "test", "-count=1", "-run", "Undeclared|NotebookPath|TopLevelNames",
                          "github.com/janpfeifer/gonb/internal/goexec"], cwd=mod, capture_output=True, text=True,
                         env=dict(os.environ, GOWORK="off", GOFLAGS="-mod=mod"), timeout=600)
    assert out.returncode == 0 and "\nok " in "\n" + out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
