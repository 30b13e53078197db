"""python3 -m classroom publish against temporary repositories (no class, no root): lessons.git holds the
published commits alone, never the teacher's history or a withheld solution, and withholding the solutions
again sets the next commit on the last one published without them."""
import os
import stat
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import lessons, settings  # noqa: E402

SOLUTIONS = "notebooks/01-solutions.ipynb"
LESSON = "notebooks/01-lesson.ipynb"


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def commit_files(repo, files, message):
    for path, text in files.items():
        os.makedirs(os.path.join(repo, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(repo, path), "w") as f:
            f.write(text)
    git("add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


@pytest.fixture
def teacher(tmp_path):
    """A teacher's checkout: the lesson and its solutions, and a branch of drafts never published."""
    repo = str(tmp_path / "teacher")
    git("init", "-q", "-b", "main", repo)
    commit_files(repo, {LESSON: "lesson v1\n", SOLUTIONS: "the answers v1\n"}, "lesson one")
    git("checkout", "-q", "-b", "drafts", cwd=repo)
    commit_files(repo, {"notebooks/drafts.txt": "a draft, on a branch of its own\n"}, "drafts")
    git("checkout", "-q", "main", cwd=repo)
    return repo


def publish(tmp_path, repo, solutions, capsys, umask=0o022):
    c = settings.load(dict(os.environ, CLASSROOM_DIR=str(tmp_path / "state"), CLASS_VAR=str(tmp_path / "var"),
                           SOLUTIONS=solutions))
    os.makedirs(c.dir, mode=0o700, exist_ok=True)
    was = os.umask(umask)
    try:
        lessons.publish(c, repo)
    finally:
        os.umask(was)
    return c, capsys.readouterr().out


def objects(git_dir):
    """{object id: content} of every object in the repository, reachable or not."""
    ids = git("--git-dir", git_dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").split()
    return {oid: git("--git-dir", git_dir, "cat-file", "-p", oid) for oid in ids}


def assert_only_published(c, repo):
    found = objects(c.lessons)
    assert git("--git-dir", c.lessons, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]
    commits = set(git("rev-list", "--all", cwd=repo).split())
    assert not commits & set(found), "lessons.git holds commits of the teacher's history"
    for oid, content in found.items():
        assert "draft" not in content, f"lessons.git's object {oid} holds the teacher's unpublished drafts"
    assert not os.path.exists(os.path.join(c.lessons, "FETCH_HEAD"))
    for folder, _, files in os.walk(c.lessons):
        for path in [folder] + [os.path.join(folder, f) for f in files]:
            mode = os.stat(path).st_mode
            assert mode & 0o004 and (not stat.S_ISDIR(mode) or mode & 0o001), f"{path} is not a+rX ({mode:o})"
    assert stat.S_IMODE(os.stat(c.state("lessons-build.git")).st_mode) == 0o700


def tree_of(c, rev="main"):
    return git("--git-dir", c.lessons, "ls-tree", "-r", "--name-only", rev).split()


def test_withheld_again_the_next_commit_sits_on_the_last_without_the_solutions(tmp_path, teacher, capsys):
    c, said = publish(tmp_path, teacher, "withhold", capsys)
    assert "lessons: published" in said and "(solutions: withhold)" in said, said
    assert tree_of(c) == [LESSON] and "answers" not in "".join(objects(c.lessons).values())
    withheld = git("--git-dir", c.lessons, "rev-parse", "main")
    assert_only_published(c, teacher)

    c, said = publish(tmp_path, teacher, "include", capsys)
    assert sorted(tree_of(c)) == [LESSON, SOLUTIONS], said
    assert git("--git-dir", c.lessons, "rev-parse", "main^") == withheld

    commit_files(teacher, {LESSON: "lesson v2\n", SOLUTIONS: "the answers v2\n"}, "lesson two")
    c, said = publish(tmp_path, teacher, "withhold", capsys)
    tip = git("--git-dir", c.lessons, "rev-parse", "main")
    assert git("--git-dir", c.lessons, "rev-parse", "main^") == withheld, "the new commit is not on the last without"
    assert tree_of(c) == [LESSON] and git("--git-dir", c.lessons, "show", f"{tip}:{LESSON}") == "lesson v2"
    assert "answers" not in "".join(objects(c.lessons).values()), "a version of the solutions is still in lessons.git"
    assert_only_published(c, teacher)

    c, said = publish(tmp_path, teacher, "withhold", capsys)
    assert said == "==> lessons: up to date (solutions: withhold)\n", said
    assert git("--git-dir", c.lessons, "rev-parse", "main") == tip


def test_what_an_older_publish_left_in_lessons_git_is_pruned(tmp_path, teacher, capsys):
    c, _ = publish(tmp_path, teacher, "withhold", capsys)
    git("--git-dir", c.lessons, "fetch", "-q", teacher, "+refs/heads/*:refs/teacher/*")  # the teacher's history
    assert "draft" in "".join(objects(c.lessons).values())
    c, said = publish(tmp_path, teacher, "withhold", capsys, umask=0o077)  # a+rX nonetheless
    assert said == "==> lessons: up to date (solutions: withhold)\n", said
    assert_only_published(c, teacher)


def test_an_uncommitted_edit_of_the_solutions_in_the_checkout_is_neither_a_failure_nor_published(
        tmp_path, teacher, capsys, monkeypatch):
    with open(os.path.join(teacher, SOLUTIONS), "w") as f:
        f.write("answers the teacher is still writing\n")
    monkeypatch.chdir(teacher)  # make classroom runs in the checkout
    c, said = publish(tmp_path, teacher, "withhold", capsys)
    assert "lessons: published" in said and tree_of(c) == [LESSON], said
    assert "answers" not in "".join(objects(c.lessons).values())


def test_a_bad_solutions_value_is_refused_in_one_sentence(tmp_path, teacher, capsys):
    with pytest.raises(settings.Refused, match="^SOLUTIONS=yes: use SOLUTIONS=withhold or SOLUTIONS=include$"):
        publish(tmp_path, teacher, "yes", capsys)
    assert not os.path.exists(tmp_path / "var" / "lessons.git")
