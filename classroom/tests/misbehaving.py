"""What students run when testing their limits, as Python source for a cell or a process: a fork loop
and a memory hog (what a misbehaving student runs), and ticks (what a classmate runs meanwhile)."""


def fork_loop(most=1000):
    """Forks sleeping children until the system says no or `most` are made; prints "stopped after N errno E"
    when a fork failed, then kills its children and prints "forked N"."""
    return f"""
import os, time
children = []
try:
    for _ in range({most}):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as e:
    print("stopped after", len(children), "errno", e.errno)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print("forked", len(children))
"""


def memory_hog(mib=1024):
    """Holds `mib` MiB, 16 at a time, every page written; prints "held N MiB" if it got them all."""
    return f"""
held = []
for _ in range({mib} // 16):
    held.append(bytearray(b"x") * (16 << 20))
print("held", len(held) * 16, "MiB", flush=True)
"""


def ticks(count=40, every=0.1):
    """Prints "I TIME" `count` times, `every` seconds apart (TIME: its monotonic clock)."""
    return f"""
import time
for i in range({count}):
    print(i, time.monotonic(), flush=True)
    time.sleep({every})
"""


def ticked(text):
    """The tick numbers in what ticks() printed."""
    return [int(line.split()[0]) for line in text.splitlines() if line.strip()]
