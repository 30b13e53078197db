"""The practice server (`streamdemo serve`) as the notebook, browser and benchmark
suites start it: built from this repository, on the loopback port it bound and said,
and stopped with everything it started."""
import os
import socket
import subprocess

from listening import PRACTICE_SAYS, Listening

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


class PracticeServer(Listening):
    """`streamdemo serve ARGS` on a port of its choosing, its output in log_path; base_url
    is its /v1 URL, from the address it says it bound. Raises RuntimeError if it ends or
    says nothing within timeout seconds; stop() (or the end of a with block) ends it."""

    def __init__(self, binary, log_path, *args, timeout=15):
        super().__init__([binary, "serve", "--addr", "127.0.0.1:0", *args], log_path,
                         r"practice server on http://(\S+)/v1 ", timeout=timeout)
        self.port = int(self.address.rsplit(":", 1)[1])
        self.base_url = f"http://{self.address}/v1"
