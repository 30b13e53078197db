"""Limits biting in cgroups of this machine's own (cgroup v1, host_cgroups.Cgroup), as a student's unit's
limits do where systemd enforces them: a fork loop stops at its task limit, a memory hog is killed in
its cgroup only while a process in another keeps working.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from host_cgroups import Cgroup  # noqa: E402
from misbehaving import fork_loop, memory_hog, ticked, ticks  # noqa: E402

def test_a_fork_loop_stops_at_its_task_limit():
    with Cgroup(f"sdsys-forks-{os.getpid()}", ["pids"]) as student:
        student.limit(tasks=32)
        loop = student.popen([sys.executable, "-c", fork_loop(400)], stdout=subprocess.PIPE, text=True)
        out, _ = loop.communicate(timeout=120)
        assert "stopped after" in out and "errno 11" in out, out  # EAGAIN: the pids controller refused
        assert int(out.split("stopped after")[1].split()[0]) < 32, out
        assert int(student.read("pids", "pids.events").split()[1]) >= 1  # "max N": forks refused


def test_a_memory_hog_is_killed_in_its_cgroup_only_while_another_process_keeps_working():
    with Cgroup(f"sdsys-hog-{os.getpid()}", ["memory"]) as ada, \
            Cgroup(f"sdsys-work-{os.getpid()}", ["memory"]) as bo:
        ada.limit(memory=128 << 20)
        bo.limit(memory=128 << 20)
        worker = bo.popen([sys.executable, "-c", ticks(60, 0.05)], stdout=subprocess.PIPE, text=True)
        hog = ada.popen([sys.executable, "-c", memory_hog(768)], stdout=subprocess.PIPE, text=True)
        hog_out, _ = hog.communicate(timeout=120)
        out, _ = worker.communicate(timeout=120)
        assert hog.returncode == -9 and "held" not in hog_out, (hog.returncode, hog_out)  # SIGKILL, by the kernel
        assert ada.oom_kills() >= 1 and bo.oom_kills() == 0
        assert worker.returncode == 0
        times = [float(line.split()[1]) for line in out.splitlines()]
        assert ticked(out) == list(range(60)) and max(b - a for a, b in zip(times, times[1:])) < 1.0, out
