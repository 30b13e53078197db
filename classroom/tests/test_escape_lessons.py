"""lessons.git, which every student can read, holds the published commits and nothing else: no
commit, tree or blob of the teacher's history, no version of the withheld solutions, even after the
solutions were published once and withheld again."""
import os
import subprocess

from conftest import REPO, STATE
from test_escape_files import publish

SOLUTIONS = "notebooks/01-solutions.ipynb"


def git(*args, cwd=None, input=None):
    r = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def objects(lessons):
    """{object id: (type, content)} of every object in the repository, reachable or not."""
    ids = git("--git-dir", lessons, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").split()
    out, found, at = git("--git-dir", lessons, "cat-file", "--batch", input=b"\n".join(ids) + b"\n"), {}, 0
    while at < len(out):
        header_end = out.index(b"\n", at)
        oid, kind, size = out[at:header_end].decode().split()
        start = header_end + 1
        found[oid] = (kind, out[start:start + int(size)])
        at = start + int(size) + 1
    return found


def solution_versions():
    """Every version of the solutions notebook in the teacher's history: blob ids and contents."""
    raw = git("log", "--all", "--format=", "--raw", "--no-abbrev", "--", SOLUTIONS, cwd=REPO).decode().split()
    ids = {w for w in raw if len(w) == 40 and set(w) != {"0"}}
    return {oid: git("cat-file", "blob", oid, cwd=REPO) for oid in ids}


def assert_only_published(klass):
    found = objects(klass.lessons)
    teacher_commits = set(git("rev-list", "--all", cwd=REPO).decode().split())
    assert not teacher_commits & set(found), "lessons.git holds commits of the teacher's history"
    versions = solution_versions()
    assert versions, "the teacher's repository has no solutions notebook to withhold"
    for oid, (kind, content) in found.items():
        assert oid not in versions, f"lessons.git holds a version of {SOLUTIONS} ({oid})"
        if kind in ("tree", "commit"):
            assert b"01-solutions" not in content, f"lessons.git's {kind} {oid} names the solutions"
        for text in versions.values():
            assert text not in content, f"lessons.git's {kind} {oid} holds the solutions"
        if kind == "commit":
            assert b"\n\nLesson update from " in content or content.endswith(b"\n\nLessons\n"), content
    assert not os.path.exists(os.path.join(klass.lessons, "FETCH_HEAD"))
    assert git("--git-dir", klass.lessons, "for-each-ref", "--format=%(refname)").split() == [b"refs/heads/main"]
    assert os.stat(STATE).st_mode & 0o077 == 0  # where the published commit is built: root's alone


def test_lessons_hold_no_withheld_solution_nor_teacher_history(klass, tmp_path):
    assert_only_published(klass)  # as make classroom published it
    publish(klass, "include")
    tree = git("--git-dir", klass.lessons, "ls-tree", "-r", "--name-only", "main").decode().split()
    assert SOLUTIONS in tree, "SOLUTIONS=include did not publish the solutions"
    copy = str(tmp_path / "copy")
    git("clone", "-q", f"file://{klass.lessons}", copy)  # a student's copy, with the solutions
    publish(klass, "withhold")
    assert_only_published(klass)
    # That copy still merges: the new commit sits on the last one published without the solutions.
    git("fetch", "-q", cwd=copy)
    base = git("merge-base", "HEAD", "origin/main", cwd=copy).strip()
    assert base and SOLUTIONS.encode() not in git("ls-tree", "-r", "--name-only", base, cwd=copy).split()
