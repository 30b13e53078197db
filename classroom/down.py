"""python3 -m classroom down (make classroom-down): stops the hub (which stops the students' servers, the proxy
and its services), the class's practice server, then anything still running under the class's accounts, and
removes the class's firewall rule. Accounts, homes, notebooks, passwords, the hub database and the gateway's
ledger all stay.

python3 -m classroom remove (make classroom-remove CONFIRM=yes): the end of a course. Stops the class, then
deletes every account the class ever made (the roster's, those dropped from it, the teacher's) with their
homes (notebooks included), the class's state (passwords, hub database, the gateway's ledger and key) and
lessons.git. The shared runtime stays."""
import os
import shutil
import signal
import subprocess

from classroom import accounts, firewall, frontdoor, hub, procs, settings
from classroom.settings import die, say


def stop(c):
    frontdoor.stop(c, quiet=True)  # first: no new connection comes in while the class stops
    if not procs.stop_file(c.pid_file("jupyterhub"), "the hub and the student servers"):
        say("the hub is not running")
    procs.stop_file(c.pid_file("proxy"), "proxy")
    procs.stop_file(c.pid_file("practice-server"), "practice-server")
    hub.stop_leftovers(c)  # a hub killed hard: its proxy, services and gateway are still running
    if c.as_root:
        firewall.remove(c.port)
        left = leftovers(c)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            say(f"ended {len(left)} leftover process(es) of the class's accounts")


def leftovers(c):
    """Whatever runs under the class's accounts (a kernel of a server killed hard, say), dropped ones included,
    and this class's gateway (its folder is its cwd)."""
    left = [pid for name in accounts.made(c) for pid in procs.account_pids(name)]
    return left + [pid for pid in procs.account_pids(c.gateway_user) if procs.cwd_of(pid) == c.gateway_dir]


def main(args):
    if args:
        die("usage: python3 -m classroom down")
    stop(settings.load())
    say("class stopped; accounts, notebooks, passwords and the ledger are kept (start again: make classroom)")


def remove(args):
    c = settings.load()
    if args != ["--confirm"] and c.environ.get("CONFIRM") != "yes":
        die("this deletes the class's accounts, notebooks and ledger: run it with CONFIRM=yes")
    stop(c)
    if c.as_root:
        accounts.remove(c)
    shutil.rmtree(c.var, ignore_errors=True)
    shutil.rmtree(c.dir, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(c.var))
        last = True  # the last class on this machine is gone
    except OSError:
        last = False
    if last and c.as_root and accounts.exists(c.gateway_user):
        subprocess.run(["userdel", c.gateway_user], capture_output=True)
    say("class removed: accounts, homes, passwords, hub database, ledger and lessons.git are gone")
