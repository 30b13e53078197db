"""systemd_host.Machine: a real systemd as PID 1 of a container on this machine, whose state survives a
reboot, and which leaves nothing behind: no process, cgroup, mount or folder, even when the process
that started it is killed.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from host_cgroups import CONTROLLERS, systemd_hierarchies  # noqa: E402
from systemd_host import PROPAGATE, Machine, sweep  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

NOTE_UNIT = """[Unit]
Description=notes each boot it starts in, then stays running

[Service]
StateDirectory=sdsys-note
ExecStartPre=/bin/sh -c 'cat /proc/sys/kernel/random/boot_id >>/var/lib/sdsys-note/boots'
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
"""


@pytest.fixture(autouse=True, scope="module")
def swept():
    """What containers of these tests left when their run was killed, removed first."""
    sweep("sdsys-")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def traces(name, state):
    """What of a container this machine still holds: processes, cgroups, mounts, folders."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if name.encode() in f.read():
                    found.append(f"process {pid}")
        except OSError:
            pass
    paths = [f"{mount}/{name}" for _, mount in systemd_hierarchies()]
    paths += [f"/sys/fs/cgroup/{c}/{name}" for c in CONTROLLERS]
    found += [f"cgroup {p}" for p in paths if os.path.exists(p)]
    with open("/proc/self/mountinfo") as f:
        found += [f"mount {line.split()[4]}" for line in f if state in line]
    found += [f"folder {p}" for p in (state, os.path.join(PROPAGATE, name)) if os.path.exists(p)]
    return found


def test_systemd_boots_as_pid_1_and_runs_a_transient_unit():
    with Machine(f"sdsys-boot-{os.getpid()}") as m:
        assert m.run("systemctl", "is-system-running").stdout.strip() == "running"
        assert m.run("cat", "/proc/1/comm").stdout.strip() == "systemd"
        # Its /etc is this machine's but for the accounts of people (the tests' accounts among them).
        uids = [int(line.split(":")[2]) for line in m.run("getent", "passwd").stdout.splitlines()]
        assert uids and not [uid for uid in uids if 1000 <= uid < 60000], uids
        # A transient unit, as SystemdSpawner starts a student's server: its user, its own cgroup, its limit.
        r = m.run("systemd-run", "--wait", "--pipe", "--quiet", "-p", "User=nobody", "-p", "TasksMax=5",
                  "sh", "-c", "id -un; p=$(sed -n 's/^[0-9]*:pids://p' /proc/self/cgroup); echo $p; "
                              "cat /sys/fs/cgroup/pids$p/pids.max")
        assert r.stdout.split()[0] == "nobody", r.stdout
        assert r.stdout.split()[1].startswith("/system.slice/run-"), r.stdout
        assert r.stdout.split()[2] == "5", r.stdout


def test_a_unit_enabled_at_boot_runs_again_after_a_reboot_with_the_state_kept():
    with Machine(f"sdsys-reboot-{os.getpid()}", repo=REPO) as m:
        m.write("/etc/systemd/system/sdsys-note.service", NOTE_UNIT)
        m.systemctl("enable", "--now", "sdsys-note")
        m.run("useradd", "--create-home", "sdsys-kept")
        m.write("/home/sdsys-kept/notebook.ipynb", "{}\n")
        m.write("/opt/sdsys-runtime/ready", "yes\n")
        identity = m.run("cat", "/etc/machine-id").stdout
        m.reboot()
        assert m.show("sdsys-note", "ActiveState")["ActiveState"] == "active"  # started at boot, no command run
        boots = m.run("cat", "/var/lib/sdsys-note/boots").stdout.split()
        assert len(boots) == 2 and boots[0] != boots[1], boots
        assert m.run("cat", "/home/sdsys-kept/notebook.ipynb").stdout == "{}\n"
        assert m.run("stat", "-c", "%U", "/home/sdsys-kept").stdout.strip() == "sdsys-kept"
        assert m.run("cat", "/opt/sdsys-runtime/ready").stdout == "yes\n"
        assert m.run("cat", "/etc/machine-id").stdout == identity
        listed = m.run("journalctl", "--list-boots", "--no-pager").stdout
        assert len(re.findall(r"\b[0-9a-f]{32}\b", listed)) == 2, listed  # the journal kept the first boot's
        assert m.run("test", "-f", os.path.join(REPO, "Makefile"), check=False).returncode == 0  # the repository


def test_removing_a_running_container_leaves_nothing_behind():
    m = Machine(f"sdsys-remove-{os.getpid()}")
    try:
        m.boot()
        m.run("systemd-run", "--unit=sdsys-busy", "sleep", "600")
        nspawn, pid1 = m.nspawn.pid, m.pid
        assert traces(m.name, m.state)  # the check sees a running one
    finally:
        m.remove()
    assert not alive(nspawn) and not alive(pid1)
    assert traces(m.name, m.state) == []


ORPHAN = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from systemd_host import Machine
m = Machine(sys.argv[2])
m.boot()
print(json.dumps({"nspawn": m.nspawn.pid, "pid1": m.pid, "state": m.state}), flush=True)
time.sleep(600)
"""


def test_a_container_whose_starter_is_killed_stops_and_the_next_run_sweeps_what_it_left():
    name = f"sdsys-orphan-{os.getpid()}"
    starter = subprocess.Popen([sys.executable, "-c", ORPHAN, os.path.dirname(__file__), name],
                               stdout=subprocess.PIPE, text=True)
    try:
        booted = json.loads(starter.stdout.readline())
    finally:
        starter.kill()
        starter.wait()
    deadline = time.monotonic() + 60
    while (alive(booted["nspawn"]) or alive(booted["pid1"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(booted["nspawn"]) and not alive(booted["pid1"]), "the container outlived its starter"
    assert os.path.isdir(booted["state"])  # left for the next run
    sweep(name)
    assert traces(name, booted["state"]) == []


def test_a_sweep_leaves_a_running_container_alone():
    with Machine(f"sdsys-alive-{os.getpid()}") as m:
        sweep("sdsys-alive-")
        assert os.path.isdir(m.state) and m.run("systemctl", "is-system-running").stdout.strip() == "running"


