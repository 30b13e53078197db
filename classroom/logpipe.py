"""A class's log that cannot grow without bound: what it reads goes to FILE, rotated by size.

    COMMAND 2>&1 | python3 classroom/logpipe.py FILE [MAX_BYTES [KEEP]]

Before FILE would pass MAX_BYTES (default 20 MB) it becomes FILE.1 (FILE.1 becomes FILE.2, and so on up to
FILE.KEEP, default 4; the oldest is dropped) and a new FILE begins: at most KEEP + 1 files of MAX_BYTES each.
Lines are written as they arrive, whole, each to one file (a line longer than MAX_BYTES is cut into pieces).
The files are owner-only. It ends when its input ends. The hub, its services and proxy (everything they print
to the hub's output), the practice server and the class's model server write their logs through it.
"""
import os
import sys

MAX_BYTES = 20_000_000
KEEP = 4


class RotatingLog:
    """Appends whole lines to path, moving it aside before it would pass max_bytes."""

    def __init__(self, path, max_bytes=MAX_BYTES, keep=KEEP):
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self.fd = self._open()

    def _open(self):
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, lines):
        """Writes lines (bytes ending in a newline, or a piece of one at most max_bytes long)."""
        if os.fstat(self.fd).st_size + len(lines) > self.max_bytes:
            self._rotate()
        os.write(self.fd, lines)

    def _rotate(self):
        os.close(self.fd)
        for n in range(self.keep - 1, 0, -1):
            if os.path.exists(f"{self.path}.{n}"):
                os.replace(f"{self.path}.{n}", f"{self.path}.{n + 1}")
        if self.keep:
            os.replace(self.path, f"{self.path}.1")
        else:
            os.unlink(self.path)
        self.fd = self._open()

    def close(self):
        os.close(self.fd)


def copy(source, log):
    """Copies what source (a binary stream) gives into log, line by line as it arrives, until it ends."""
    pending = b""
    while chunk := source.read1(65536):
        pending += chunk
        end = pending.rfind(b"\n") + 1
        while len(pending) - end > log.max_bytes or end > log.max_bytes:  # no newline for too long, or many lines
            cut = pending.rfind(b"\n", 0, log.max_bytes) + 1 or log.max_bytes
            log.write(pending[:cut])
            pending = pending[cut:]
            end = pending.rfind(b"\n") + 1
        if end:
            log.write(pending[:end])
            pending = pending[end:]
    if pending:
        log.write(pending + b"\n")


def main():
    if len(sys.argv) not in (2, 3, 4):
        raise SystemExit(__doc__)
    max_bytes = int(sys.argv[2]) if len(sys.argv) > 2 else MAX_BYTES
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else KEEP
    log = RotatingLog(sys.argv[1], max_bytes, keep)
    try:
        copy(sys.stdin.buffer, log)
    finally:
        log.close()


if __name__ == "__main__":
    main()
