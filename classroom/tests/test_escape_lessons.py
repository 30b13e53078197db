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


def start_refused(klass, **extra):
    """make classroom for the running class with extra variables: it must stop, naming why in its last line."""
    r = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom"], env=dict(klass.env, **extra),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode, r.stdout[-1000:]
    said = [line for line in r.stderr.splitlines() if line.startswith("classroom: ")]
    assert said, r.stderr[-1000:]
    return said[-1]


def test_an_open_key_file_or_checkout_stops_the_start_with_one_sentence(klass, tmp_path):
    """The teacher's key in a file other accounts can read, and a checkout they can enter while the solutions
    are withheld (every commit in .git holds them), are refused before anything changes; the class goes on."""
    key = tmp_path / "key.env"
    key.write_text("PERPLEXITY_API_KEY=pplx-" + "k" * 40 + "\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(key, 0o644)
    said = start_refused(klass, UPSTREAM_KEY_FILE=str(key))
    assert said == (f"classroom: the key file {key} can be read by other accounts (mode 644), so students could read the"
                    f" class's key: chmod 600 {key}, then make classroom again"), said
    # The checkout open, and every folder above it (a clone may sit in a closed temporary folder).
    folders = [REPO] + [os.path.dirname(REPO.rstrip("/"))]
    while folders[-1] != "/":
        folders.append(os.path.dirname(folders[-1]))
    modes = {f: os.stat(f).st_mode & 0o7777 for f in folders}
    try:
        os.chmod(REPO, 0o755)
        for f in folders[1:]:
            os.chmod(f, modes[f] | 0o001)
        said = start_refused(klass)
    finally:
        for f, mode in modes.items():
            os.chmod(f, mode)
    assert said == (f"classroom: every account of this machine can enter this checkout ({REPO}), so students could read the"
                    " withheld solutions (in notebooks/ and in every commit of .git): close it (chmod 700"
                    f" {REPO}, or a folder above it), then make classroom again"), said
    assert "already running" in klass.make("classroom")  # the class went on as it was
