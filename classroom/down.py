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
import time

from classroom import accounts, firewall, frontdoor, hub, procs, settings, units
from classroom.settings import die, say


def stop(c):
    frontdoor.stop(c, quiet=True)  # first: no new connection comes in while the class stops
    if not procs.stop_file(c.pid_file("jupyterhub"), "the hub and the student servers"):
        say("the hub is not running")
    procs.stop_file(c.pid_file("proxy"), "proxy")
    procs.stop_file(c.pid_file("practice-server"), "practice-server")
    if units.supervises(c):  # before the leftovers are ended: else systemd would start them again
        for what in ("gateway", "practice"):
            if units.active(c, what):
                say(f"stopped {units.service(c, what)}")
            units.stop(c, what)
    hub.stop_leftovers(c)  # a hub killed hard: its proxy, services and gateway are still running
    if c.as_root:
        firewall.remove(c.port)
        ended = end_leftovers(c)
        if ended:
            say(f"ended {ended} leftover process(es) of the class's accounts")


def end_leftovers(c, rounds=50):
    """SIGKILL to every leftover, again until none is left (one may fork while the others end); how many ended."""
    ended = set()
    for _ in range(rounds):
        left = [pid for pid in leftovers(c) if not procs.zombie(pid)]
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        ended.update(left)
        time.sleep(0.1)
    return len(ended)


def leftovers(c):
    """Whatever runs under the class's accounts (a kernel of a server killed hard, say), dropped ones included,
    and this class's gateway (its folder is its cwd)."""
    uids = {accounts.ids(name)[0] for name in accounts.made(c) if accounts.exists(name)}
    gateway = accounts.ids(c.gateway_user)[0] if accounts.exists(c.gateway_user) else None
    return [pid for pid, owner in procs.processes()
            if owner in uids or owner == gateway and procs.cwd_of(pid) == c.gateway_dir]


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
