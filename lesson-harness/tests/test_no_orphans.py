"""No process outlives the kernel: a GoNB kernel killed hard, a gonb that
crashes, or a Jupyter server killed hard must leave no gopls (nor anything
else the kernel started) running. The kernelspec starts gonb through
kernel-setup/supervisor/gonb-supervisor, which makes this hold."""
import os
import signal
import subprocess
import sys
import textwrap
import time

from jupyter_client import KernelManager

from conftest import REPO


def children():
    """Maps each pid to the pids whose parent it is, from /proc."""
    tree = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat", "rb").read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            tree.setdefault(ppid, []).append(int(name))
    return tree


def descendants(pid):
    tree, found, todo = children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(tree.get(p, []))
    return found


def command(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid):
    """True if pid runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = open(f"/proc/{pid}/stat", "rb").read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"


def kernel_tree(kernel_pid):
    """Waits until the kernel runs gopls and its telemetry helper; returns every process under it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = descendants(kernel_pid)
        goplses = [p for p in pids if "gopls" in command(p)]
        if len(goplses) >= 2:  # gopls -listen and gopls' telemetry child
            return pids
        time.sleep(0.2)
    raise AssertionError("the kernel did not start gopls within 60 s: " + repr([command(p) for p in descendants(kernel_pid)]))


def assert_all_gone(pids, what):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    left = [f"{p}: {command(p)}" for p in pids if alive(p)]
    for p in pids:  # never leave a stray behind, even when the test fails
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"{what} left processes running: {left}"


def start_kernel():
    km = KernelManager(kernel_name="gonb")
    km.start_kernel(cwd=REPO, stderr=subprocess.DEVNULL)
    return km, km.provisioner.process.pid


def test_kernel_killed_hard_leaves_nothing():
    km, pid = start_kernel()
    pids = kernel_tree(pid)
    km.shutdown_kernel(now=True)  # what Jupyter does to a kernel that does not answer: SIGKILL its group
    assert_all_gone(pids, "a kernel killed hard")


def test_gonb_crash_leaves_nothing():
    km, pid = start_kernel()
    pids = kernel_tree(pid)
    gonb = next(p for p in pids if command(p).split(" ")[0].endswith("/gonb"))
    os.kill(gonb, signal.SIGKILL)
    assert_all_gone(pids, "gonb killed on its own")
    km.shutdown_kernel(now=True)


def test_jupyter_server_killed_hard_leaves_nothing():
    # A stand-in for the Jupyter server: it starts the kernel the same way, then is killed with SIGKILL.
    server = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from jupyter_client import KernelManager
        km = KernelManager(kernel_name="gonb")
        km.start_kernel(cwd={REPO!r})
        print(km.provisioner.process.pid, flush=True)
        time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(server.stdout.readline())
        pids = kernel_tree(pid)
    finally:
        server.kill()
        server.wait()
    assert_all_gone(pids, "a Jupyter server killed hard")
