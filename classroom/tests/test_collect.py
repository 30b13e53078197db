"""python3 -m classroom collect on real accounts (sdtest-p31-*, removed even when a test fails): every
roster student's notebooks copied read-only into a dated folder of the teacher's, and nothing else: not a
link a student planted (to /etc/shadow, to another student's home), not a file that is not hers, not a
file over the size limit, not a named pipe (which would hang a reader). Needs root, as a class does."""
import datetime
import os
import pwd
import stat
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import collect  # noqa: E402

ADA, BO = "sdtest-p31-ada", "sdtest-p31-bo"
NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


def userdel(name):
    subprocess.run(["userdel", "--remove", name], capture_output=True)


@pytest.fixture
def accounts():
    if os.geteuid() != 0:
        pytest.fail("the collect tests need root: they make Unix accounts, as a class does")
    for name in (ADA, BO):
        userdel(name)
        subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield {name: pwd.getpwnam(name) for name in (ADA, BO)}
    finally:
        for name in (ADA, BO):
            userdel(name)


def plant(account, rel, text=NOTEBOOK, owner=None):
    """A file in account's home, written as root, owned by owner (default: account)."""
    path = os.path.join(account.pw_dir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    owner = owner or account
    for p in (path, os.path.dirname(path)):
        os.chown(p, owner.pw_uid if p == path else account.pw_uid, account.pw_gid)
    return path


def run(tmp_path, *args):
    roster = tmp_path / "roster"
    roster.write_text(f"{ADA}\n{BO}\nsdtest-p31-nobody\n")
    env = {k: v for k, v in os.environ.items() if k != "MAKEFLAGS"}
    env.update(ROSTER=str(roster), CLASSROOM_DIR=str(tmp_path / "state"))
    r = subprocess.run([sys.executable, "-m", "classroom", "collect", "--into", str(tmp_path), *args], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def tree(top):
    """{path below top: (mode, uid, content or None)} of everything under top."""
    found = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(folder, name)
            st = os.lstat(p)
            content = open(p).read() if stat.S_ISREG(st.st_mode) else None
            found[os.path.relpath(p, top)] = (stat.S_IMODE(st.st_mode), st.st_uid, content)
    return found


def test_collects_notebooks_read_only(accounts, tmp_path):
    ada, bo = accounts[ADA], accounts[BO]
    plant(ada, "lesson/01.ipynb", NOTEBOOK.replace("[]", '["ada"]'))
    plant(ada, "lesson/.ipynb_checkpoints/01-checkpoint.ipynb")
    plant(ada, "notes.txt", "not a notebook")
    plant(bo, "01.ipynb", NOTEBOOK.replace("[]", '["bo"]'))
    out = run(tmp_path)
    dest = tmp_path / f"collected-{datetime.date.today().isoformat()}"
    found = tree(dest)
    assert found == {
        ADA: (0o555, 0, None), f"{ADA}/lesson": (0o555, 0, None),
        f"{ADA}/lesson/01.ipynb": (0o444, 0, NOTEBOOK.replace("[]", '["ada"]')),
        BO: (0o555, 0, None), f"{BO}/01.ipynb": (0o444, 0, NOTEBOOK.replace("[]", '["bo"]')),
    }
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o500
    assert f"{ADA}/lesson/01.ipynb" in out and "collected 2 notebooks" in out and "sdtest-p31-nobody: no account" in out
    assert run(tmp_path).endswith(f"into {dest}.2 (read-only)\n")  # a second collection keeps the first
    assert tree(dest) == found


def test_never_follows_what_a_student_planted(accounts, tmp_path):
    ada, bo = accounts[ADA], accounts[BO]
    plant(bo, "private/essay.ipynb", NOTEBOOK.replace("[]", '["bo private"]'))
    os.symlink("/etc/shadow", os.path.join(ada.pw_dir, "shadow.ipynb"))
    os.symlink(bo.pw_dir, os.path.join(ada.pw_dir, "bo-home"))
    os.symlink("/etc", os.path.join(ada.pw_dir, "etc"))
    for link in ("shadow.ipynb", "bo-home", "etc"):
        os.lchown(os.path.join(ada.pw_dir, link), ada.pw_uid, ada.pw_gid)
    plant(ada, "gift.ipynb", owner=bo)  # bo's file in ada's home: not ada's work
    plant(ada, "huge.ipynb", "x" * 5000)
    fifo = os.path.join(ada.pw_dir, "pipe.ipynb")
    os.mkfifo(fifo)
    os.chown(fifo, ada.pw_uid, ada.pw_gid)
    plant(ada, "\x1b]0;owned\x07.ipynb")  # a name a terminal would act on
    out = run(tmp_path, "--max-bytes", "1000")
    found = tree(tmp_path / f"collected-{datetime.date.today().isoformat()}")
    assert sorted(found) == [ADA, f"{ADA}/\x1b]0;owned\x07.ipynb", BO, f"{BO}/private", f"{BO}/private/essay.ipynb"]
    shadow = open("/etc/shadow").read()
    assert all(content != shadow for _, _, content in found.values())
    assert f"{ADA}/shadow.ipynb: a link" in out and f"{ADA}/gift.ipynb: not the student's own file" in out
    assert f"{ADA}/huge.ipynb: 5000 bytes, over the limit of 1000" in out and f"{ADA}/pipe.ipynb: not a regular" in out
    assert "\x1b" not in out and f"{ADA}/?]0;owned?.ipynb" in out


def test_a_link_swapped_in_after_the_look_is_not_followed(accounts, tmp_path):
    """The student swaps a notebook for a link between the walk's look and the copy's open."""
    ada = accounts[ADA]
    os.symlink("/etc/shadow", os.path.join(ada.pw_dir, "swapped.ipynb"))
    os.symlink("/etc", os.path.join(ada.pw_dir, "swapped"))
    into = tmp_path / "into"
    into.mkdir()
    c = collect.Collection(str(into), 10_000_000)
    home = os.open(ada.pw_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        c.copy(home, "swapped.ipynb", f"{ADA}/swapped.ipynb", ada.pw_uid)
        with pytest.raises(OSError):
            collect.open_below(home, "swapped", os.O_RDONLY | os.O_DIRECTORY)
    finally:
        os.close(home)
    assert c.files == 0 and os.listdir(into) == []
