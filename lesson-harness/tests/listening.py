"""A server started on port 0, known by the address it says it bound: no port is picked,
closed and handed on for another process to take in between."""
import os
import re
import signal
import subprocess
import threading

# What `streamdemo serve` and `streamdemo gateway serve` print once they listen.
PRACTICE_SAYS = r"practice server on http://([^/\s]+)/v1 "
GATEWAY_SAYS = r"class gateway on http://([^/\s]+)/"


class Listening:
    """argv (listening on port 0) with its output copied to log_path. address is what the
    first output line matching pattern (its group 1) says; raises RuntimeError, naming the
    log, if the process ends or prints no such line within timeout seconds. stop() (or the
    end of a with block) ends the process and everything it started."""

    def __init__(self, argv, log_path, pattern, timeout=15, env=None, cwd=None):
        self.log_path = log_path
        self.address = None
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=cwd, start_new_session=True, text=True, errors="replace")
        said = threading.Event()

        def copy():
            for line in self.proc.stdout:
                self.log.write(line)
                self.log.flush()
                if self.address is None and (m := re.search(pattern, line)):
                    self.address = m.group(1)
                    said.set()
            said.set()  # ended without saying it

        self.copier = threading.Thread(target=copy, daemon=True)
        self.copier.start()
        if said.wait(timeout) and self.address is not None:
            return
        why = f"said nothing of where it listens in {timeout} s"
        if said.is_set():  # its output ended: it exited, or is about to
            try:
                why = f"ended with code {self.proc.wait(5)}"
            except subprocess.TimeoutExpired:
                why = "closed its output without saying where it listens"
        self.stop()
        raise RuntimeError(f"{os.path.basename(argv[0])} {argv[1]} {why}: see {log_path}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.copier.join(5)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
