"""JupyterHub's SystemdSpawner on a booted systemd (systemd_host.Machine, systemd_hub.Hub): each student's
server a unit of her own, in a slice of all students, with a memory, task and CPU limit, a /tmp of its
own and the system read-only but for her home; her token out of a classmate's reach; the limits
enforced (a fork loop stops, a memory hog dies alone while a classmate's cell streams); the hub
supervised by systemd (back after kill -9 and after a reboot, the students' servers untouched or
started again). The hub's configuration is a minimal one of the tests' (systemd_hub.py).
"""
import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from systemd_host import Machine, sweep  # noqa: E402
from misbehaving import fork_loop, memory_hog, ticked, ticks  # noqa: E402
from systemd_hub import BUILT, HUB, SLICE, Hub, Limits, oom_kills, unit  # noqa: E402

STUDENTS = ("sdsys-ada", "sdsys-bo")
LIMITS = Limits(memory=1 << 30, tasks=64, cpu_weight=50, all_memory=3 << 30)  # a server with jupyter-ai holds ~330 MiB


@pytest.fixture(scope="module")
def hub():
    if not os.path.exists(os.path.join(BUILT, "venv", "bin", "jupyterhub")):
        pytest.fail("the container's hub is missing: run make systemd-container-setup")
    sweep("sdsys-")
    m = Machine(f"sdsys-hub-{os.getpid()}", binds=[(BUILT, HUB)])  # the repository is not needed inside
    try:
        m.boot()
        m.run("install", "-d", "-m", "1777", "/srv/sdsys-shared")  # anyone may write here, but for the sandbox
        h = Hub.install(m, STUDENTS, LIMITS)
        for user in STUDENTS:
            h.spawn(user)
        yield h
    finally:
        m.remove()


def test_each_students_server_is_a_unit_of_her_own_with_her_limits(hub):
    for user in STUDENTS:
        shown = hub.m.show(unit(user), "ActiveState", "User", "MemoryMax", "TasksMax", "CPUWeight", "PrivateTmp",
                           "PrivateDevices", "NoNewPrivileges", "ReadOnlyPaths", "ReadWritePaths", "OOMPolicy",
                           "ControlGroup", "MainPID")
        uid = hub.m.run("id", "-u", user).stdout.strip()
        assert shown["ActiveState"] == "active" and shown["User"] == uid, shown  # the spawner passes her uid
        assert shown["MemoryMax"] == str(LIMITS.memory) and shown["TasksMax"] == str(LIMITS.tasks), shown
        assert shown["CPUWeight"] == str(LIMITS.cpu_weight), shown
        assert (shown["PrivateTmp"], shown["PrivateDevices"], shown["NoNewPrivileges"]) == ("yes",) * 3, shown
        assert shown["ReadOnlyPaths"] == "/" and shown["ReadWritePaths"] == f"/home/{user}", shown
        assert shown["OOMPolicy"] == "continue", shown  # a kernel killed for memory leaves her server up
        assert shown["ControlGroup"] == f"/sdsys.slice/{SLICE}/{unit(user)}", shown
        # Not in the hub's cgroup, and in the kernel's controllers with her limits (v1 files here).
        hubs = hub.m.run("cat", "/sys/fs/cgroup/systemd/system.slice/sdsys-hub.service/cgroup.procs").stdout.split()
        assert hubs and shown["MainPID"] not in hubs
        assert kernel_limit(hub, unit(user), "memory", "memory.limit_in_bytes") == LIMITS.memory
        assert kernel_limit(hub, unit(user), "pids", "pids.max") == LIMITS.tasks
        assert kernel_limit(hub, unit(user), "cpu", "cpu.shares") == LIMITS.cpu_weight * 1024 // 100
        assert hub.through_proxy(user) == "200"
    # All students together: the slice their servers run in.
    assert kernel_limit(hub, SLICE, "memory", "memory.limit_in_bytes") == LIMITS.all_memory
    assert kernel_limit(hub, SLICE, "pids", "pids.max") == LIMITS.all_tasks


def kernel_limit(hub, unit_name, controller, file):
    """A limit as the kernel holds it for a unit (its cgroup's file in a controller's hierarchy)."""
    with open(f"{hub.m.unit_cgroup(unit_name, controller)}/{file}") as f:
        return int(f.read())


def test_her_server_sees_the_system_read_only_and_a_tmp_of_its_own(hub):
    user = STUDENTS[0]
    main = hub.m.show(unit(user), "MainPID")["MainPID"]
    script = f"""
        cd /home/{user} && touch note && echo home-ok
        touch /tmp/sdsys-mine && echo tmp-ok
        for d in /srv/sdsys-shared /opt /var/lib /home/{STUDENTS[1]}; do touch $d/sdsys-x 2>&1 || true; done
    """
    r = hub.m.run("nsenter", "-t", main, "-m", "--", "setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
                  "sh", "-c", script, check=False)
    said = r.stdout + r.stderr
    assert "home-ok" in said and "tmp-ok" in said, said
    assert "touch: cannot touch '/srv/sdsys-shared/sdsys-x': Read-only file system" in said, said
    assert "/opt/sdsys-x': Read-only file system" in said, said
    assert said.count("cannot touch") == 4, said
    # Her /tmp is her own: the system's /tmp does not have her file, and her note is in her real home.
    assert hub.m.run("test", "-e", "/tmp/sdsys-mine", check=False).returncode == 1
    assert hub.m.run("test", "-e", f"/home/{user}/note", check=False).returncode == 0


def test_a_classmate_cannot_read_her_servers_token(hub):
    ada, bo = STUDENTS
    main = hub.m.show(unit(ada), "MainPID")["MainPID"]
    environ = hub.m.run("cat", f"/proc/{main}/environ").stdout.split("\0")
    token = next(e.split("=", 1)[1] for e in environ if e.startswith("JUPYTERHUB_API_TOKEN="))
    his = hub.m.show(unit(bo), "User", "Group")  # whom his server runs as: what his cells can do
    as_bo = ["setpriv", f"--reuid={his['User']}", f"--regid={his['Group']}", "--clear-groups"]
    # Booleans only: a failing assertion must not print the token.
    for path in (f"/proc/{main}/environ", f"/run/{unit(ada)[:-8]}/{unit(ada)[:-8]}.env"):
        r = hub.m.run(*as_bo, "cat", path, check=False)
        refused, leaked = r.returncode != 0 and "Permission denied" in r.stderr, token in r.stdout
        assert refused and not leaked, f"his account could read {path}"
    shown = hub.m.run(*as_bo, "systemctl", "show", unit(ada)).stdout  # any account may ask systemd
    leaked = token in shown
    assert not leaked and "EnvironmentFiles=" in shown, "systemctl show told her token"
    leaked = token in hub.m.run("sh", "-c", "cat /proc/[0-9]*/cmdline").stdout
    assert not leaked, "her token is on a command line"


def test_a_fork_loop_stops_at_her_task_limit_and_her_server_answers_on(hub):
    ada = STUDENTS[0]
    out, end = hub.cell(ada, fork_loop())
    said = "".join(text for _, text in out)
    assert end == "idle", said
    assert "stopped after" in said and "errno 11" in said, said  # EAGAIN: the pids controller said no
    assert int(said.split("stopped after")[1].split()[0]) < LIMITS.tasks, said
    assert "forked" in said
    assert hub.through_proxy(ada) == "200"


def test_a_memory_hog_is_killed_in_her_unit_only_while_a_classmates_cell_streams(hub):
    ada, bo = STUDENTS
    streamed = {}
    classmate = threading.Thread(target=lambda: streamed.update(result=hub.cell(bo, ticks(40, 0.1))))
    classmate.start()
    time.sleep(1.5)  # her cell starts while his streams
    out, end = hub.cell(ada, memory_hog(1024))
    classmate.join(120)
    said = "".join(text for _, text in out)
    assert "held" not in said and end in ("dead", "restarting", "closed"), (said, end)
    for user, killed in ((ada, True), (bo, False)):
        assert (oom_kills(hub.m, unit(user)) > 0) == killed, user
    streamed_out, his_end = streamed["result"]
    assert his_end == "idle" and ticked("".join(t for _, t in streamed_out)) == list(range(40)), streamed_out
    gaps = [b - a for (a, _), (b, _) in zip(streamed_out, streamed_out[1:])]
    assert max(gaps) < 1.0, gaps  # his cell streamed on while hers was killed
    for user in STUDENTS:
        assert hub.m.show(unit(user), "ActiveState")["ActiveState"] == "active"
        assert hub.through_proxy(user) == "200"


def test_the_hub_killed_comes_back_and_the_students_servers_run_on(hub):
    before = {user: hub.m.show(unit(user), "MainPID")["MainPID"] for user in STUDENTS}
    hub_pid = hub.m.show("sdsys-hub", "MainPID")["MainPID"]
    hub.m.run("kill", "-9", hub_pid)
    deadline = time.monotonic() + 30
    while hub.m.show("sdsys-hub", "MainPID")["MainPID"] in (hub_pid, "0") and time.monotonic() < deadline:
        time.sleep(0.2)
    hub.wait_up()
    assert hub.m.show("sdsys-hub", "NRestarts")["NRestarts"] == "1"
    for user in STUDENTS:
        assert hub.m.show(unit(user), "MainPID")["MainPID"] == before[user]  # the same server, never stopped
        deadline = time.monotonic() + 30
        while hub.through_proxy(user) != "200" and time.monotonic() < deadline:
            time.sleep(0.3)  # the new hub gives the new proxy its routes
        assert hub.through_proxy(user) == "200"


def test_after_a_reboot_the_hub_is_back_with_its_students_and_their_servers_start_again(hub):
    hub.m.run("touch", f"/home/{STUDENTS[0]}/kept")
    hub.m.reboot()
    hub.wait_up()
    users = {u["name"]: u for u in hub.api("GET", "/users")}
    assert set(STUDENTS) <= set(users)
    assert hub.m.run("test", "-e", f"/home/{STUDENTS[0]}/kept", check=False).returncode == 0
    deadline = time.monotonic() + 30
    while hub.api("GET", f"/users/{STUDENTS[0]}")["servers"] and time.monotonic() < deadline:
        time.sleep(0.3)  # the hub finds the servers gone with the old boot
    hub.spawn(STUDENTS[0])
    assert hub.m.show(unit(STUDENTS[0]), "MemoryMax")["MemoryMax"] == str(LIMITS.memory)
    assert hub.through_proxy(STUDENTS[0]) == "200"
