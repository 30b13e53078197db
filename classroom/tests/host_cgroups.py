"""Cgroups of this machine made by a test: one name in several hierarchies, with limits, processes
placed in them, and always removed.

This machine has cgroup v1: memory, pids, cpu... each a hierarchy of its own under /sys/fs/cgroup,
writable by root, beside name=systemd and an empty cgroup v2 at /sys/fs/cgroup/unified.

    with Cgroup("sdsys-ada", CONTROLLERS) as ada:
        ada.limit(memory=128 << 20, tasks=32)
        hog = ada.popen([...])          # the child starts inside it
        ada.oom_kills()                 # processes the kernel killed for its memory limit
"""
import os
import signal
import subprocess
import time

CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")  # the limits a student's unit sets: MemoryMax, TasksMax, CPUWeight


def hierarchy(controller):
    """(the controller's name in /proc/self/cgroup, its mount point) for a v1 controller."""
    return controller, f"/sys/fs/cgroup/{controller}"


def systemd_hierarchies():
    """The hierarchies systemd keeps its tree of units in, as (name in /proc/self/cgroup, mount point):
    cgroup v2 alone, or v1's name=systemd and, on a hybrid machine (as here), the v2 beside it."""
    if os.path.exists("/sys/fs/cgroup/cgroup.procs"):
        return [("", "/sys/fs/cgroup")]
    found = [("", "/sys/fs/cgroup/unified")] if os.path.exists("/sys/fs/cgroup/unified/cgroup.procs") else []
    return found + [("name=systemd", "/sys/fs/cgroup/systemd")]


class Cgroup:
    """A cgroup named NAME in each of the hierarchies given, as (name, mount point) pairs or v1 controller
    names. It is made at the top of each hierarchy, not below the cgroup this process was started in:
    a test killed before its clean-up leaves nothing inside a cgroup that another program manages, and
    the next run finds what it left by name."""

    def __init__(self, name, hierarchies):
        self.name = name
        self.paths = {}
        for h in hierarchies:
            label, mount = hierarchy(h) if isinstance(h, str) else h
            self.paths[label] = f"{mount}/{name}"
        for path in self.paths.values():
            os.makedirs(path, exist_ok=True)

    def limit(self, memory=None, tasks=None, cpu_shares=None):
        """Sets a memory limit (bytes; swap included where the kernel counts it), a task limit, CPU shares."""
        if memory is not None:
            self._write("memory", "memory.limit_in_bytes", memory)
            if os.path.exists(os.path.join(self.paths["memory"], "memory.memsw.limit_in_bytes")):
                self._write("memory", "memory.memsw.limit_in_bytes", memory)
        if tasks is not None:
            self._write("pids", "pids.max", tasks)
        if cpu_shares is not None:
            self._write("cpu", "cpu.shares", cpu_shares)

    def _write(self, label, file, value):
        with open(os.path.join(self.paths[label], file), "w") as f:
            f.write(str(value))

    def read(self, label, file):
        with open(os.path.join(self.paths[label], file)) as f:
            return f.read()

    def enter(self, pid=None):
        """Moves a process (by default the calling one) into this cgroup, in every hierarchy."""
        for path in self.paths.values():
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(pid or os.getpid()))

    def popen(self, argv, **kwargs):
        """Starts a process inside this cgroup (placed there before it runs anything)."""
        return subprocess.Popen(argv, preexec_fn=self.enter, **kwargs)

    def pids(self):
        """Every process in this cgroup or below it, in any of its hierarchies."""
        found = set()
        for path in self.paths.values():
            for top, _, files in os.walk(path):
                if "cgroup.procs" in files:
                    with open(os.path.join(top, "cgroup.procs")) as f:
                        found |= {int(p) for p in f.read().split()}
        return found

    def oom_kills(self):
        """How many processes the kernel killed in this cgroup for its memory limit."""
        fields = dict(line.split() for line in self.read("memory", "memory.oom_control").splitlines())
        return int(fields.get("oom_kill", 0))

    def remove(self, timeout=10):
        """Kills what still runs in it (processes a test placed there) and removes it, deepest first."""
        deadline = time.monotonic() + timeout
        while (left := self.pids()) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for path in self.paths.values():
            remove_tree(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def remove_tree(path):
    """Removes a cgroup folder and those below it, deepest first (each must be empty of processes)."""
    if not os.path.isdir(path):
        return
    for top, dirs, _ in os.walk(path, topdown=False):
        for d in dirs:
            os.rmdir(os.path.join(top, d))
    os.rmdir(path)
