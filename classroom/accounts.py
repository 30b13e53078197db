"""The class's Unix accounts: one per student and the teacher (members of the class's group, no password, a
home only its owner enters), one for the gateway; and what the class ever made, to remove at the course's end."""
import grp
import os
import pwd
import subprocess

from classroom import roster
from classroom.settings import die, say


def exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def in_group(name, group):
    try:
        g = grp.getgrnam(group)
    except KeyError:
        return False
    return name in g.gr_mem or pwd.getpwnam(name).pw_gid == g.gr_gid


def make(c, students):
    """The teacher's and every student's account (refusing a name an account outside the class holds), and
    the gateway's."""
    group = c.student_group
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", group], check=True)
    added = 0
    for name in [c.teacher] + students:
        if exists(name):
            if not in_group(name, group):
                die(f"an account named '{name}' already exists on this machine and is not a student's: "
                    "rename the student in the roster")
            continue
        # No password: no Unix login.
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", group, name],
                       check=True)
        os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
        added += 1
    say(f"accounts: {len(students)} students and {c.teacher} ({added} new), each its own Unix account")
    if not exists(c.gateway_user):
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "--user-group", c.gateway_user], check=True)


def ids(name):
    """The account's (uid, gid)."""
    p = pwd.getpwnam(name)
    return p.pw_uid, p.pw_gid


def made(c):
    """Every account this class has made: the teacher's, the roster's and those its record holds."""
    names = {c.teacher}
    if os.path.isfile(c.roster):
        names.update(roster.roster_names(c.roster))
    if os.path.isdir(c.dir):
        names.update(roster.accounts(c.dir))
    return sorted(names)


def remove(c):
    """Deletes every account the class made, with its home; an account outside the class's group is kept.
    The group goes when no class uses it."""
    for name in made(c):
        if not exists(name):
            continue
        if not in_group(name, c.student_group):
            say(f"kept {name}: not a class account")
            continue
        if subprocess.run(["userdel", "--remove", name], capture_output=True).returncode:
            subprocess.run(["userdel", name], capture_output=True)
    try:
        if not grp.getgrnam(c.student_group).gr_mem:
            subprocess.run(["groupdel", c.student_group], capture_output=True)
    except KeyError:
        pass


def as_gateway(c, cmd):
    """cmd run as the gateway's account (as the caller in a try-out class). Root never opens a path in the
    gateway's folder itself: a link planted there would make it read or write any file."""
    return ["runuser", "-u", c.gateway_user, "--"] + list(cmd) if c.as_root else list(cmd)
