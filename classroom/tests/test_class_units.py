"""The real class on a booted systemd, through its program and its units only: `python3 -m classroom service`
installs the hub's unit and the front door's (enabled at boot; the class at a DNS name, with its own CA) and
`systemctl start` starts the class (`up`, which checks the runtime, makes the roster's accounts and
passwords, publishes the lesson and starts the hub with its proxy, the gateway and the practice server).
Then a student's server is a unit of her own with the configured limits; the hub killed with SIGKILL is
started again by systemd while her server runs on, and so are the gateway and the practice server (units of
their own, which up starts), the hub running on; the teacher's page logs her in; `status` shows the units,
their restarts and each student's memory and tasks against her limits; after a reboot of the machine, with no
command run, the class answers again through its front door with the same accounts, passwords, notebooks,
ledger and certificates; `systemctl stop` ends it all.

The runtime is this machine's, installed from this checkout before the boot (the container has no network),
and bound at its place; so are Go's caches and settings, which `up` builds streamdemo with.
"""
import functools
import json
import os
import re
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import certificates as conftest_certificates  # noqa: E402
from systemd_host import PATH, Machine, sweep  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
RUNTIME = "/opt/streamdemo-classroom"  # the runtime's place as root, here and in the container
PYTHON = f"{RUNTIME}/venv/bin/python"
STATE = "/var/lib/up31-units/state"  # CLASSROOM_DIR inside the container
STUDENTS = ("up31-ada", "up31-bo")
PORT = 8000
HUB_UNIT = f"streamdemo-classroom-{PORT}.service"
HOST = "up31.test"  # a class beyond loopback: its front door (Caddy, the class's own CA) a unit of its own
DOOR_UNIT = f"streamdemo-classroom-frontdoor-{PORT}.service"
GATEWAY_UNIT, PRACTICE_UNIT = (f"streamdemo-classroom-{what}-{PORT}.service" for what in ("gateway", "practice"))
SETTINGS = {"CLASSROOM_DIR": STATE, "ROSTER": "/var/lib/up31-units/roster", "UPSTREAM_URL": "practice",
            "CLASSROOM_HOST": HOST,
            "STUDENT_MEMORY": "1G", "STUDENT_TASKS": "64", "STUDENT_CPU_WEIGHT": "50", "STUDENTS_MEMORY": "3G",
            "STUDENTS_TASKS": "900", "PYTHONPATH": REPO}


def go_binds():
    """Go's module cache (read-only), build cache and settings of this machine, where root's Go finds them."""
    env = dict(os.environ, GOFLAGS="")
    out = subprocess.run(["go", "env", "GOMODCACHE", "GOCACHE", "GOENV"], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    ro = [(path, path) for path in (out[0], os.path.dirname(out[2])) if os.path.isdir(path)]
    return [(out[1], out[1])], ro


@functools.cache
def python_binds():
    """The python3 this machine's PATH gives (the checkout's .venv and tools were made with it, and the units
    run it from the PATH they keep): (its folder, its installation to bind when it is not under /usr)."""
    found = subprocess.run(["python3", "-c", "import sys; print(sys.executable, sys.prefix)"], capture_output=True,
                           text=True, check=True).stdout.split()
    executable, prefix = os.path.realpath(found[0]), os.path.realpath(found[1])
    under_usr = prefix == "/usr" or prefix.startswith("/usr/")
    return os.path.dirname(executable), [] if under_usr else [(prefix, prefix)]


def git_binds():
    """A worktree's .git names the repository's common folder, which the lesson is published from."""
    common = subprocess.run(["git", "-C", REPO, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return [] if common.startswith(REPO + "/") else [(common, common)]


def inside(m, *argv, timeout=300):
    """Runs a command in the container as root with the class's settings and this machine's python3 first on PATH."""
    return m.run(*argv, env=dict(SETTINGS, PATH=f"{python_binds()[0]}:{PATH}"), timeout=timeout)


def hub_answers(m, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = m.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{PORT}/hub/api/",
                  check=False)
        if r.stdout == "200":
            return
        time.sleep(0.5)
    pytest.fail(f"the class did not answer within {timeout} s:\n{journal(m)}")


def door_answers(m, timeout=60):
    """The front door answers over HTTPS with a certificate of the class's own CA."""
    deadline = time.monotonic() + timeout
    while True:
        r = m.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", f"{STATE}/class-ca.crt",
                  "--resolve", f"{HOST}:443:127.0.0.1", f"https://{HOST}/hub/api/", check=False)
        if r.stdout == "200":
            return
        assert time.monotonic() < deadline, (r.stdout, r.stderr, journal(m, DOOR_UNIT))
        time.sleep(0.5)


def certificates(m):
    """The class's certificates and keys (its CA's, the front door's), by hash, as this machine sees them."""
    return conftest_certificates(m.state + STATE)


def accounts_and_passwords(m):
    """The students' uids inside the container, and the handed-out passwords file's content."""
    uids = [m.run("id", "-u", user).stdout.strip() for user in STUDENTS]
    with open(f"{m.state}{STATE}/passwords") as f:
        return uids, f.read()


def journal(m, unit=HUB_UNIT, lines=60):
    return m.run("journalctl", "-u", unit, "-n", str(lines), "--no-pager", check=False).stdout


def visit(m, user, note=""):
    """Her login, server, notebook and one question (systemd_class.py visit): {notebook, ledger}."""
    r = inside(m, PYTHON, f"{HERE}/systemd_class.py", "visit", user, *([note] if note else []))
    return json.loads(r.stdout.splitlines()[-1])


def gateway_pid(m):
    r = m.run("pgrep", "-f", f"{RUNTIME}/bin/streamdemo gateway serve", check=False)
    pids = r.stdout.split()
    return int(pids[0]) if len(pids) == 1 else None


@pytest.fixture(scope="module")
def machine():
    # The runtime as root's class has it, from this checkout: ready in seconds when make classroom made it.
    r = subprocess.run(["python3", "-m", "classroom", "install"], cwd=REPO, capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if not k.startswith("CLASSROOM_")}, timeout=900)
    if r.returncode:
        pytest.fail(f"python3 -m classroom install failed on this machine:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    sweep("up31-")
    rw, ro = go_binds()
    m = Machine(f"up31-units-{os.getpid()}", repo=REPO, binds=[(RUNTIME, RUNTIME)] + rw,
                binds_ro=ro + python_binds()[1] + git_binds())
    try:
        m.boot()
        m.write("/etc/hosts", "127.0.0.1 localhost " + " ".join(f"{u}.localhost" for u in STUDENTS) + "\n")
        m.write(SETTINGS["ROSTER"], "\n".join(STUDENTS) + "\n")
        inside(m, "python3", "-m", "classroom", "service")
        yield m
    except Exception:
        print(journal(m))
        raise
    finally:
        m.remove()


def test_service_installs_the_class_enabled_at_boot_and_systemctl_start_brings_it_up(machine):
    for unit in (HUB_UNIT, DOOR_UNIT):
        assert machine.systemctl("is-enabled", unit).stdout.strip() == "enabled", unit
    r = machine.systemctl("start", HUB_UNIT, check=False)  # returns once up says the class answers (Type=forking)
    assert r.returncode == 0, journal(machine, lines=200)
    hub_answers(machine, timeout=30)
    assert machine.show(HUB_UNIT, "ActiveState")["ActiveState"] == "active"
    door_answers(machine)


def test_a_students_server_is_a_unit_of_her_own_with_the_configured_limits(machine):
    seen = visit(machine, STUDENTS[0], "written before the crashes")
    assert seen["notebook"] == "written before the crashes" and seen["ledger"]["requests"] == 1, seen
    shown = machine.show(f"jupyter-{STUDENTS[0]}-singleuser.service", "ActiveState", "Slice", "MemoryMax", "TasksMax",
                         "CPUWeight", "User")
    assert shown["ActiveState"] == "active" and shown["Slice"] == f"streamdemo-students-{PORT}.slice", shown
    assert shown["MemoryMax"] == str(1 << 30) and shown["TasksMax"] == "64" and shown["CPUWeight"] == "50", shown


def killed_and_back(m, unit, timeout=60):
    """kill -9 of the unit's main process; returns what systemd shows once it runs the unit again, one restart
    more, under a new pid."""
    before = m.show(unit, "MainPID", "NRestarts")
    assert int(before["MainPID"]) > 1, before  # kill -9 0 would be the caller's own process group
    m.run("kill", "-9", before["MainPID"])
    deadline = time.monotonic() + timeout
    while True:
        now = m.show(unit, "MainPID", "NRestarts", "ActiveState")
        if now["ActiveState"] == "active" and now["MainPID"] not in ("0", before["MainPID"]):
            break
        assert time.monotonic() < deadline, (now, journal(m, unit))
        time.sleep(0.2)
    assert int(now["NRestarts"]) == int(before["NRestarts"]) + 1, now
    return now


def test_the_hub_killed_is_started_again_by_systemd(machine):
    server = machine.show(f"jupyter-{STUDENTS[0]}-singleuser.service", "MainPID")
    killed_and_back(machine, HUB_UNIT, timeout=180)
    hub_answers(machine, timeout=60)
    # Her server is a unit of its own: it ran on through the hub's crash and restart.
    assert machine.show(f"jupyter-{STUDENTS[0]}-singleuser.service", "MainPID") == server
    seen = visit(machine, STUDENTS[0])
    assert seen["notebook"] == "written before the crashes" and seen["ledger"]["requests"] == 2, seen


def test_the_gateway_killed_is_started_again_by_systemd(machine):
    assert gateway_pid(machine) == int(machine.show(GATEWAY_UNIT, "MainPID")["MainPID"]), "the gateway is not its unit"
    hub = machine.show(HUB_UNIT, "MainPID")
    killed_and_back(machine, GATEWAY_UNIT)
    assert machine.show(HUB_UNIT, "MainPID") == hub  # the hub ran on
    seen = visit(machine, STUDENTS[1])
    assert seen == {"notebook": None, "ledger": seen["ledger"]} and seen["ledger"]["requests"] == 1, seen


def test_the_practice_server_killed_is_started_again_by_systemd_with_its_key(machine):
    killed_and_back(machine, PRACTICE_UNIT)
    seen = visit(machine, STUDENTS[1])  # the gateway's key is still the practice server's
    assert seen["ledger"]["requests"] == 2, seen


def test_the_teachers_page_logs_her_in_through_the_hub(machine):
    r = inside(machine, PYTHON, f"{HERE}/systemd_class.py", "page", "teacher")
    said = json.loads(r.stdout.splitlines()[-1])
    assert said["status"] == 200 and said["url"] == said["asked"] and said["page"], said


def test_status_shows_the_units_restarts_and_each_students_usage_against_her_limits(machine):
    said = inside(machine, "python3", "-m", "classroom", "status").stdout
    restarts = machine.show(HUB_UNIT, "NRestarts")["NRestarts"]
    assert restarts == "1" and f"; unit {HUB_UNIT}, restarted once) at " in said, said
    for unit, said_as in ((GATEWAY_UNIT, "gateway (service llm): answering"),
                          (PRACTICE_UNIT, "practice server (upstream)")):
        shown = machine.show(unit, "MainPID", "NRestarts")
        assert f"{said_as} (running (pid {shown['MainPID']}; unit {unit}, restarted once)" in said or \
            f"{said_as}: running (pid {shown['MainPID']}; unit {unit}, restarted once)" in said, said
    door = machine.show(DOOR_UNIT, "MainPID")["MainPID"]
    assert f"front door: running (pid {door}; unit {DOOR_UNIT}, never restarted) at https://{HOST}" in said, said
    for student in STUDENTS:  # each server's unit, its memory and tasks read, against her limits
        assert re.search(rf"  {student}: active, memory [0-9.]+[KMG] of 1\.0G, tasks [0-9]+ of 64 "
                         rf"\(jupyter-{student}-singleuser\.service\)", said), said
    assert re.search(rf"students together \(streamdemo-students-{PORT}\.slice\): memory [0-9.]+[KMG] of 3\.0G, "
                     r"tasks [0-9]+ of 900", said), said


def test_after_a_reboot_the_class_answers_with_its_accounts_passwords_notebooks_ledger_and_certificates(machine):
    kept = certificates(machine)
    assert any(path.endswith("/root.crt") for path in kept), kept
    accounts, passwords = accounts_and_passwords(machine)
    machine.reboot()  # no command run after it: the unit enabled at boot starts the class
    hub_answers(machine)
    seen = visit(machine, STUDENTS[0])  # her password of before, her notebook, her ledger counted on
    assert seen["notebook"] == "written before the crashes" and seen["ledger"]["requests"] == 3, seen
    door_answers(machine)
    assert certificates(machine) == kept
    assert accounts_and_passwords(machine) == (accounts, passwords)


def test_systemctl_stop_ends_the_whole_class_and_keeps_its_state(machine):
    machine.systemctl("stop", HUB_UNIT)  # ExecStop: python3 -m classroom down
    for unit in (HUB_UNIT, DOOR_UNIT, GATEWAY_UNIT, PRACTICE_UNIT, f"jupyter-{STUDENTS[0]}-singleuser.service"):
        assert machine.show(unit, "ActiveState")["ActiveState"] in ("inactive", "failed"), unit
    left = machine.run("pgrep", "-a", "-u", ",".join(STUDENTS + ("streamdemo-llm",)), check=False)
    assert left.returncode == 1 and left.stdout == "", (left.stdout, left.stderr)  # 1: no process of theirs
    assert machine.systemctl("is-enabled", HUB_UNIT).stdout.strip() == "enabled"
    assert os.path.getsize(f"{machine.state}{STATE}/passwords") > 0
