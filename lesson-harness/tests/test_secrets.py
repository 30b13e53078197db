"""The secrets sweep: after every notebook and fault ran with the recognisable
test key (the other test files), nothing they left behind holds any 8
characters of it: saved notebooks, executed copies, kernel and server logs.
Also the pre-commit hook that keeps key-shaped outputs out of commits."""
import glob
import json
import os
import shutil
import subprocess

from conftest import BUILD, REPO, TEST_KEY


def test_nothing_left_behind_holds_the_key():
    files = [p for p in glob.glob(os.path.join(BUILD, "**", "*"), recursive=True)
             if os.path.isfile(p) and not p.endswith("streamdemo")]
    files += glob.glob(os.path.join(REPO, "notebooks", "*.ipynb"))
    assert len([f for f in files if f.endswith(".ipynb")]) >= 6, "run the whole notebook suite first"
    assert [f for f in files if f.endswith(".log")], "no logs to search"
    runs = {TEST_KEY[i:i + 8] for i in range(len(TEST_KEY) - 7)}
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        leaked = [r for r in runs if r in text]
        assert not leaked, f"{path} holds part of the test key: {leaked[:2]}"


def notebook_with_output(text):
    return json.dumps({"cells": [{"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
                                  "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_pre_commit_hook_refuses_key_shaped_outputs(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    hooks = repo / ".git" / "hooks"
    shutil.copy(os.path.join(REPO, "kernel-setup", "hooks", "pre-commit"), hooks / "pre-commit")
    os.makedirs(repo / "lesson-harness")
    shutil.copy(os.path.join(REPO, "lesson-harness", "check_outputs.py"), repo / "lesson-harness")
    git = lambda *a: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], cwd=repo,
                                    capture_output=True, text=True)
    (repo / "clean.ipynb").write_text(notebook_with_output("200 billion trillion stars\n"))
    git("add", "-A")
    assert git("commit", "-qm", "clean").returncode == 0
    (repo / "leak.ipynb").write_text(notebook_with_output("key: sk-proj-abcdefghijklmnop1234\n"))
    git("add", "leak.ipynb")
    refused = git("commit", "-qm", "leak")
    assert refused.returncode != 0 and "shaped like an API key" in refused.stdout + refused.stderr
