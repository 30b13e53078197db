"""make classroom-systemd-bench: what a booted systemd in a container costs the tests (docs/notes-systemd.md).

Containers of their own (classroom/tests/systemd_host.py), ROUNDS times each, medians printed:
  - a first boot (its state folder made: /etc copied) beside a boot on kept state, and the power-off;
  - a boot with memory, pids and cpu controllers delegated (limits enforced) beside nspawn's default;
  - a hub with SystemdSpawner (classroom/tests/systemd_hub.py): installed and answering, two students'
    servers spawned one after the other, back after kill -9, back after a reboot of the container;
  - the container's memory (its memory cgroup here) idle, then with the hub and two servers.
"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from systemd_host import Machine, sweep  # noqa: E402
from systemd_hub import BUILT, HUB, Hub, Limits  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
STUDENTS = ("sdsys-ada", "sdsys-bo")


def timed(f):
    t0 = time.monotonic()
    f()
    return time.monotonic() - t0


def memory(m):
    with open(os.path.join(m.cgroups.paths["memory"], "memory.usage_in_bytes")) as f:
        return int(f.read()) / (1 << 20)


def boots():
    """(first boots, boots on kept state, power-offs, plain boots): seconds, ROUNDS of each."""
    first, kept, off, plain = [], [], [], []
    for i in range(ROUNDS):
        t0 = time.monotonic()
        m = Machine(f"sdsys-bench-{os.getpid()}-{i}")  # makes the state folder: /etc copied
        try:
            first.append(time.monotonic() - t0 + m.boot())
            down, up = m.reboot()
            off.append(down)
            kept.append(up)
        finally:
            m.remove()
        p = Machine(f"sdsys-bench-{os.getpid()}-plain{i}", delegate=False)
        try:
            p.boot()
            p.poweroff()
            plain.append(p.boot())
        finally:
            p.remove()
    return first, kept, off, plain


def hub():
    """Seconds for the hub's steps, and the container's memory (MiB) idle and with two servers."""
    m = Machine(f"sdsys-bench-{os.getpid()}-hub", binds=[(BUILT, HUB)])
    try:
        m.boot()
        idle = memory(m)
        figures = {}
        figures["hub installed and answering"] = timed(
            lambda: figures.update(hub=Hub.install(m, STUDENTS, Limits(256 << 20, 64, 50))))
        h = figures.pop("hub")
        for user in STUDENTS:
            figures[f"server of {user} spawned (ready)"] = timed(lambda: h.spawn(user))
        busy = memory(m)
        pid = m.show("sdsys-hub", "MainPID")["MainPID"]

        def killed():
            m.run("kill", "-9", pid)
            while m.show("sdsys-hub", "MainPID")["MainPID"] in (pid, "0"):
                time.sleep(0.05)
            h.wait_up()
        figures["hub back after kill -9 (API answers)"] = timed(killed)
        figures["container rebooted, hub answering"] = timed(lambda: (m.reboot(), h.wait_up()))
        return figures, idle, busy
    finally:
        m.remove()


def main():
    sweep("sdsys-")
    first, kept, off, plain = boots()
    med = statistics.median
    print(f"container (systemd {ROUNDS} rounds, medians; this machine: {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f})")
    print(f"  first boot (state made)        {med(first):6.2f} s")
    print(f"  boot on kept state             {med(kept):6.2f} s   ({med(first) / med(kept):.1f}x faster than first)")
    print(f"  power-off                      {med(off):6.2f} s")
    print(f"  boot, nspawn's default cgroups {med(plain):6.2f} s   (delegated / default: {med(kept) / med(plain):.2f})")
    figures, idle, busy = hub()
    print("hub with SystemdSpawner, in one container")
    for what, seconds in figures.items():
        print(f"  {what:38} {seconds:6.2f} s")
    print(f"  container memory: idle {idle:.0f} MiB, hub + 2 servers {busy:.0f} MiB")


if __name__ == "__main__":
    main()
