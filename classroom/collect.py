"""Every student's notebooks, copied read-only into a folder of the teacher's, as nbgrader's collect does.

    python3 -m classroom collect [--into DIR] [--max-bytes N]

Each roster student's *.ipynb files under their home (hidden folders such as .ipynb_checkpoints left out)
go to DIR/collected-YYYY-MM-DD/STUDENT/..., the same path below the home; a second collection the same day
goes to collected-YYYY-MM-DD.2 and so on, so none is overwritten. DIR defaults to the class's owner-only
state folder. Copies are 0444 in 0555 folders, owned by whoever runs it (root as root), and the dated folder
is its owner's alone (0500): a student never reads another's work there. The folder appears once complete.

Run as root, it reads what students wrote, so it trusts nothing of it: every folder and file is opened
below the home without following a link (a link a student planted to /etc/shadow or another's home is
skipped with one line, even if it is swapped in while the copy runs), only regular files the student owns
are copied, and files over --max-bytes (default 50 MB) are skipped with one line.
"""
import argparse
import datetime
import os
import pwd
import shutil
import stat

from classroom import config, students

CHUNK = 1 << 20
MAX_DEPTH = 32


def open_below(dir_fd, name, flags):
    return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


class Collection:
    def __init__(self, into, max_bytes):
        self.into, self.max_bytes = into, max_bytes
        self.files = self.bytes = 0

    def say(self, line):
        """Prints line, any character a terminal would act on (a student names the files) shown as '?'."""
        print("".join(c if c.isprintable() else "?" for c in line), flush=True)

    def student(self, name):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            self.say(f"--- {name}: no account on this machine (the class has not started with them yet)")
            return
        try:
            home = os.open(account.pw_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            self.say(f"--- {name}: their home {account.pw_dir} cannot be opened ({e.strerror}): skipped")
            return
        try:
            self.folder(home, name, account.pw_uid, 0)
        finally:
            os.close(home)

    def folder(self, dir_fd, rel, uid, depth):
        for entry in sorted(os.listdir(dir_fd)):
            if entry.startswith("."):
                continue
            path = f"{rel}/{entry}"
            try:
                st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth >= MAX_DEPTH:
                    self.say(f"--- skipped {path}: folders nested deeper than {MAX_DEPTH}")
                    continue
                try:
                    fd = open_below(dir_fd, entry, os.O_RDONLY | os.O_DIRECTORY)
                except OSError:
                    self.say(f"--- skipped {path}: not a folder when opened (a link swapped in?)")
                    continue
                try:
                    self.folder(fd, path, uid, depth + 1)
                finally:
                    os.close(fd)
            elif entry.endswith(".ipynb"):
                if stat.S_ISLNK(st.st_mode):
                    self.say(f"--- skipped {path}: a link, not a notebook")
                else:
                    self.copy(dir_fd, entry, path, uid)

    def copy(self, dir_fd, entry, path, uid):
        try:
            src = open_below(dir_fd, entry, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            self.say(f"--- skipped {path}: not a file when opened (a link swapped in?)")
            return
        with os.fdopen(src, "rb") as f:
            st = os.fstat(src)
            if not stat.S_ISREG(st.st_mode):
                return self.say(f"--- skipped {path}: not a regular file")
            if st.st_uid != uid:
                return self.say(f"--- skipped {path}: not the student's own file (owner uid {st.st_uid})")
            if st.st_size > self.max_bytes:
                return self.say(f"--- skipped {path}: {st.st_size} bytes, over the limit of {self.max_bytes}")
            out = os.path.join(self.into, path)
            os.makedirs(os.path.dirname(out), mode=0o755, exist_ok=True)
            size = 0
            with open(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as w:
                while chunk := f.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        break
                    w.write(chunk)
                os.fchmod(w.fileno(), 0o444)
            if size > self.max_bytes:
                os.unlink(out)
                return self.say(f"--- skipped {path}: it grew over the limit of {self.max_bytes} bytes while copied")
        self.files += 1
        self.bytes += size
        self.say(f"    {path} ({size} bytes)")


def read_only(top):
    """Folders 0555 below top, top 0500 (its owner's alone)."""
    for folder, dirs, _ in os.walk(top, topdown=False):
        for d in dirs:
            os.chmod(os.path.join(folder, d), 0o555)
    os.chmod(top, 0o500)


def destination(into, today):
    base = os.path.join(into, f"collected-{today.isoformat()}")
    dest, n = base, 1
    while os.path.lexists(dest):
        n += 1
        dest = f"{base}.{n}"
    return dest


def collect(into, max_bytes, environ=os.environ, today=None):
    """Copies every roster student's notebooks into a new dated folder under into; returns its path."""
    names = students.names(students.roster_file(environ))
    if not os.path.isdir(into):
        raise config.Refused(f"{into} is not a folder: give --into an existing folder of yours.")
    dest = destination(into, today or datetime.date.today())
    partial = os.path.join(into, f".{os.path.basename(dest)}.partial-{os.getpid()}")
    os.mkdir(partial, 0o700)
    c = Collection(partial, max_bytes)
    try:
        for name in names:
            c.student(name)
        read_only(partial)
        os.rename(partial, dest)
    except BaseException:
        os.chmod(partial, 0o700)
        for folder, dirs, _ in os.walk(partial):
            for d in dirs:
                os.chmod(os.path.join(folder, d), 0o700)
        shutil.rmtree(partial, ignore_errors=True)
        raise
    print(f"==> collected {c.files} notebooks ({c.bytes} bytes) of {len(names)} students into {dest} (read-only)")
    return dest


def main(args):
    p = argparse.ArgumentParser(prog="python3 -m classroom collect", description=__doc__.split("\n")[0])
    p.add_argument("--into", help="the folder to collect into (default: the class's state folder)")
    p.add_argument("--max-bytes", type=int, default=50_000_000, help="skip notebooks larger than this")
    a = p.parse_args(args)
    collect(os.path.abspath(a.into or config.state_dir()), a.max_bytes)
