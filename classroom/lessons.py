"""Publishes the teacher's repository (its committed HEAD) to the class's lessons.git, which every student
server pulls with nbgitpuller at each start: new commits merge into the students' copies without
overwriting their edits.

    python3 -m classroom publish

SOLUTIONS=withhold (the solutions setting, the default) leaves the solutions notebook out; SOLUTIONS=include
publishes it. make classroom publishes at every run.

lessons.git (world-readable) holds the published commits and nothing else: each is built in
lessons-build.git, the class owner's alone in the class folder, and only it is pushed to lessons.git, which
is then pruned of anything else. The teacher's history never leaves the class folder. Withholding the
solutions again after they were included drops the commits that held them: the new commit's parent is the
last one published without them, so students' copies still merge.
"""
import os
import stat
import subprocess
import tempfile

from classroom.schema import REPO
from classroom.settings import die, load, say

WITHHELD = ("notebooks/01-solutions.ipynb",)
MAIN = "refs/heads/main"
IDENTITY = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "teacher"), ("EMAIL", "teacher@classroom"))}


class Git:
    """One repository's git, as the teacher: Git(git_dir), or Git(work_tree, checkout=True)."""

    def __init__(self, where, checkout=False):
        self.where = where
        self.options = ["-C", where] if checkout else ["--git-dir", where]

    def __call__(self, *args, index=None, cwd=None):
        """git's output, stripped; its message on stderr and one sentence if it fails."""
        r = self.run(args, index=index, cwd=cwd, quiet=False)
        if r.returncode:
            die(f"git {args[0]} failed in {self.where} (status {r.returncode}; its message is above): "
                "fix what it says, then publish again.")
        return r.stdout.strip()

    def maybe(self, *args):
        """git's output, stripped, or '' if it fails (quietly)."""
        r = self.run(args, quiet=True)
        return "" if r.returncode else r.stdout.strip()

    def run(self, args, index=None, cwd=None, quiet=False):
        env = dict(os.environ, **IDENTITY)
        if index:
            env["GIT_INDEX_FILE"] = index
        return subprocess.run(["git", *self.options, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None, text=True)


def init(git_dir):
    os.makedirs(git_dir, exist_ok=True)
    Git(git_dir)("init", "-q", "--bare", "-b", "main")


def build_repo(c):
    """lessons-build.git, made once: from the class's lessons.git if it published before (its commits only),
    else with an empty first commit, so whatever is published later has a base without the solutions."""
    build = Git(c.state("lessons-build.git"))
    if not os.path.isdir(build.where):
        init(build.where)
        if Git(c.lessons).maybe("rev-parse", "-q", "--verify", MAIN):
            build("fetch", "-q", c.lessons, f"+{MAIN}:{MAIN}")
        else:
            build("update-ref", MAIN, build("commit-tree", build("mktree"), "-m", "Lessons"))
    os.chmod(build.where, 0o700)
    return build


def lesson_tree(build, solutions, repo):
    """The tree of the teacher's HEAD (repo's), without the withheld files unless solutions is include."""
    build("fetch", "-q", repo, "+HEAD:refs/teacher/head")
    # git rm takes the folder it runs in for a work tree, and refuses when a file there differs from the index
    # (the teacher's uncommitted edit of the solutions): it runs in an empty folder.
    with tempfile.TemporaryDirectory() as tmp:
        index = os.path.join(tmp, "index")
        build("read-tree", "refs/teacher/head", index=index, cwd=tmp)
        if solutions == "withhold":
            build("rm", "-q", "--cached", "--ignore-unmatch", *WITHHELD, index=index, cwd=tmp)
        return build("write-tree", index=index, cwd=tmp)


def parent_of_next(build, solutions):
    """The published tip, or when withholding, the newest commit below the first that held a withheld file
    (with none ever published, that is the tip); '' for none."""
    tip = build("rev-parse", MAIN)
    if solutions != "withhold":
        return tip
    held = build("log", "--format=%H", "--reverse", MAIN, "--", *WITHHELD).splitlines()
    return build.maybe("rev-parse", "-q", "--verify", f"{held[0]}^") if held else tip


def commit(build, solutions, repo):
    """Commits the lesson onto its parent in lessons-build.git, unless the tip holds it already."""
    tree, parent = lesson_tree(build, solutions, repo), parent_of_next(build, solutions)
    head = Git(repo, checkout=True)("rev-parse", "--short", "HEAD")
    if parent and parent == build("rev-parse", MAIN) and build("rev-parse", f"{parent}^{{tree}}") == tree:
        say(f"lessons: up to date (solutions: {solutions})")
        return
    new = build("commit-tree", tree, *(["-p", parent] if parent else []), "-m", f"Lesson update from {head}")
    build("update-ref", MAIN, new)
    say(f"lessons: published {head} (solutions: {solutions}); students get it at their next server start")


def push(build, lessons_dir):
    """lessons.git: the published branch alone; whatever else an older publish left there goes, objects
    included (pruned in place, so a student's pull at that moment sees the old or the new branch)."""
    if not os.path.isdir(lessons_dir):
        init(lessons_dir)
    lessons = Git(lessons_dir)
    refs = lessons("for-each-ref", "--format=%(refname)").split()
    current = (lessons.maybe("rev-parse", "-q", "--verify", MAIN) == build("rev-parse", MAIN)
               and all(ref == MAIN for ref in refs) and not os.path.lexists(os.path.join(lessons_dir, "FETCH_HEAD")))
    if not current:
        build("push", "-q", "--force", lessons_dir, f"{MAIN}:{MAIN}")
        for ref in lessons("for-each-ref", "--format=%(refname)").split():
            if ref != MAIN:
                lessons("update-ref", "-d", ref)
        for name in ("FETCH_HEAD", "ORIG_HEAD"):
            try:
                os.unlink(os.path.join(lessons_dir, name))
            except FileNotFoundError:
                pass
        lessons("reflog", "expire", "--expire=now", "--all")
        lessons("gc", "-q", "--prune=now")
    readable_by_all(lessons_dir)


def readable_by_all(top):
    """chmod -R a+rX: every file readable by all, every folder (and program) enterable; links left alone."""
    for folder, _, files in os.walk(top):
        for path in [folder] + [os.path.join(folder, f) for f in files]:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            enter = 0o111 if stat.S_ISDIR(st.st_mode) or st.st_mode & 0o111 else 0
            os.chmod(path, stat.S_IMODE(st.st_mode) | 0o444 | enter)


def publish(c, repo=REPO):
    """Publishes the teacher's HEAD (the checkout's, or repo's) to the class's lessons.git, as the class's solutions setting says."""
    solutions = c["solutions"]
    if solutions not in ("withhold", "include"):
        die(f"SOLUTIONS={solutions}: use SOLUTIONS=withhold or SOLUTIONS=include")
    build = build_repo(c)
    commit(build, solutions, repo)
    push(build, c.lessons)
    build("gc", "-q", "--auto")


def main(args):
    if args:
        die("usage: python3 -m classroom publish (SOLUTIONS=withhold|include in the class's configuration)")
    publish(load())
