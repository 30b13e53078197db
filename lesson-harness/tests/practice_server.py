"""The practice server (`streamdemo serve`) as the notebook, browser and benchmark
suites start it: built from this repository, on a free loopback port, waited for
until it answers, and stopped with everything it started."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(out_dir):
    """Build cmd/streamdemo into out_dir and return the binary's path."""
    os.makedirs(out_dir, exist_ok=True)
    binary = os.path.join(out_dir, "streamdemo")
    subprocess.run(["go", "build", "-o", binary, "./cmd/streamdemo"], cwd=REPO, check=True, timeout=300)
    return binary


class PracticeServer:
    """`streamdemo serve ARGS` on a free loopback port, its output in log_path;
    base_url is its /v1 URL. Raises RuntimeError if it does not answer within
    timeout seconds; stop() (or the end of a with block) ends it."""

    def __init__(self, binary, log_path, *args, timeout=15):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{self.port}", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.base_url + "/models", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the practice server did not start: see {log_path}")
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
