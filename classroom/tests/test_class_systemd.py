"""The class's own hub on a booted systemd (systemd_host.Machine, systemd_class.py): started by the class's
program with its settings (the spawner auto, so systemd; each student's limits set in the configuration), each
student's server is a unit of her own in the class's students' slice with those limits, a /tmp of its own and
the system read-only outside her home; her fork loop stops at her task limit and her memory hog is killed in
her unit only, while a classmate's cell streams.
"""
import os
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from misbehaving import fork_loop, memory_hog, ticked, ticks  # noqa: E402
from systemd_class import BIN, BUILT, HUB, HUB_UNIT, RUNTIME_BIN  # noqa: E402
from systemd_host import Machine, sweep  # noqa: E402
from systemd_hub import cell as run_cell, oom_kills  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
PYTHON = f"{HUB}/venv/bin/python"
STUDENTS = ("sd31-ada", "sd31-bo")
LIMITS = {"STUDENT_MEMORY": "1G", "STUDENT_TASKS": "64", "STUDENT_CPU_WEIGHT": "50",
          "STUDENTS_MEMORY": "3G", "STUDENTS_TASKS": "900"}
SLICE = "streamdemo-students-8000.slice"


def unit(user):
    return f"jupyter-{user}-singleuser.service"


@pytest.fixture(scope="module")
def machine():
    for path in (f"{BUILT}/venv/bin/python", f"{RUNTIME_BIN}/streamdemo"):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: run make systemd-container-setup")
    sweep("sd31-")
    m = Machine(f"sd31-class-{os.getpid()}", repo=REPO, binds=[(BUILT, HUB), (RUNTIME_BIN, BIN)])
    try:
        m.boot()
        m.write("/etc/hosts", "127.0.0.1 localhost " + " ".join(f"{u}.localhost" for u in STUDENTS) + "\n")
        m.run(PYTHON, f"{HERE}/systemd_class.py", "start", *STUDENTS, env=LIMITS, timeout=180)
        for user in STUDENTS:
            m.run(PYTHON, f"{HERE}/systemd_class.py", "token", user, timeout=180)
        yield m
    except Exception:
        print(m.run("journalctl", "-u", HUB_UNIT, "-n", "60", "--no-pager", check=False).stdout)
        raise
    finally:
        m.remove()


def cell(m, user, code):
    """Runs a cell in her server's kernel, as her browser would: [(arrival time, text)] and how it ended."""
    return run_cell(m, PYTHON, f"http://{user}.localhost:8000", user, f"/root/{user}.token", code)


def test_each_students_server_is_a_unit_of_her_own_with_the_class_limits(machine):
    for user in STUDENTS:
        shown = machine.show(unit(user), "ActiveState", "Slice", "MemoryMax", "TasksMax", "CPUWeight", "PrivateTmp",
                             "ReadOnlyPaths", "ReadWritePaths", "User")
        assert shown["ActiveState"] == "active" and shown["Slice"] == SLICE, shown
        assert shown["MemoryMax"] == str(1 << 30) and shown["TasksMax"] == "64" and shown["CPUWeight"] == "50", shown
        assert shown["PrivateTmp"] == "yes" and shown["ReadOnlyPaths"] == "/", shown
        assert shown["ReadWritePaths"] == f"/home/{user}", shown
    together = machine.show(SLICE, "MemoryMax", "TasksMax")
    assert together == {"MemoryMax": str(3 << 30), "TasksMax": "900"}, together
    with open(machine.unit_cgroup(unit(STUDENTS[0]), "pids") + "/pids.max") as f:
        assert f.read().strip() == "64"  # written by systemd: the kernel holds her to it


def test_her_server_writes_her_home_only(machine):
    out, end = cell(machine, STUDENTS[0], """
import os
for path in ("/opt/sd31-runtime/x", "/var/lib/x", os.path.expanduser("~/x")):
    try:
        open(path, "w").close()
        print(path, "written")
    except OSError as e:
        print(path, e.strerror)
""")
    said = "".join(text for _, text in out)
    assert end == "idle", said
    assert "/var/lib/x Read-only file system" in said and f"/home/{STUDENTS[0]}/x written" in said, said


def test_her_fork_loop_stops_at_her_task_limit_while_a_classmates_cell_streams(machine):
    ada, bo = STUDENTS
    streamed = {}
    classmate = threading.Thread(target=lambda: streamed.update(result=cell(machine, bo, ticks(30, 0.1))))
    classmate.start()
    out, end = cell(machine, ada, fork_loop())
    classmate.join(150)
    said = "".join(text for _, text in out)
    assert end == "idle" and "stopped after" in said and "errno 11" in said, said  # EAGAIN: her pids limit
    assert int(said.split("stopped after")[1].split()[0]) < 64, said
    his, his_end = streamed["result"]
    assert his_end == "idle" and ticked("".join(t for _, t in his)) == list(range(30)), his
    gaps = [b - a for (a, _), (b, _) in zip(his, his[1:])]
    assert max(gaps) < 1.0, gaps


def test_her_memory_hog_is_killed_in_her_unit_only_and_her_server_stays_up(machine):
    ada, bo = STUDENTS
    out, end = cell(machine, ada, memory_hog(1024))  # her server holds ~330 MiB already: 1 GiB more is past 1G
    said = "".join(text for _, text in out)
    assert "held" not in said and end in ("dead", "restarting", "closed"), (said, end)
    for user, killed in ((ada, True), (bo, False)):
        assert (oom_kills(machine, unit(user)) > 0) == killed, user
        assert machine.show(unit(user), "ActiveState")["ActiveState"] == "active", user
    his, his_end = cell(machine, bo, ticks(3, 0.1))
    assert his_end == "idle" and ticked("".join(t for _, t in his)) == [0, 1, 2], his
