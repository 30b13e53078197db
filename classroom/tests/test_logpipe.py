"""The class's logs cannot grow without bound: classroom/logpipe.py, which the hub (with its proxy and
services), the practice server and the class's model server write through, keeps at most KEEP + 1 files of
MAX_BYTES each, writes every line as it arrives and never splits one between two files."""
import glob
import os
import subprocess
import sys
import time

from conftest import REPO

LOGPIPE = os.path.join(REPO, "classroom", "logpipe.py")


def test_a_log_is_rotated_by_size_and_keeps_whole_lines(tmp_path):
    log = tmp_path / "hub.log"
    lines = [f"line {i:05d} " + "x" * (i % 50) + "\n" for i in range(4000)]  # about 140 kB
    r = subprocess.run([sys.executable, LOGPIPE, str(log), "10000", "3"], input="".join(lines), text=True, timeout=60)
    assert r.returncode == 0
    files = sorted(glob.glob(f"{log}*"))
    assert files == [str(log), f"{log}.1", f"{log}.2", f"{log}.3"], files
    kept = []
    for path in (f"{log}.3", f"{log}.2", f"{log}.1", str(log)):  # oldest first
        text = open(path).read()
        assert 0 < len(text) <= 10000 and text.endswith("\n"), (path, len(text))
        assert os.stat(path).st_mode & 0o777 == 0o600
        kept += text.splitlines(keepends=True)
    assert kept == lines[-len(kept):], "the files do not hold the latest lines, whole and in order"
    assert len(kept) < len(lines)  # the oldest went


def test_a_line_is_in_the_file_as_soon_as_it_is_written(tmp_path):
    log = tmp_path / "practice.log"
    proc = subprocess.Popen([sys.executable, LOGPIPE, str(log)], stdin=subprocess.PIPE)
    try:
        proc.stdin.write(b"the gateway started\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (log.exists() and log.read_bytes() == b"the gateway started\n"):
            time.sleep(0.05)
        assert log.read_bytes() == b"the gateway started\n"
        proc.stdin.write(b"a last line without its newline")
    finally:
        proc.stdin.close()
        proc.wait(10)
    assert log.read_bytes() == b"the gateway started\na last line without its newline\n"


def test_a_line_longer_than_a_file_is_cut_into_pieces_that_fit(tmp_path):
    log = tmp_path / "big.log"
    r = subprocess.run([sys.executable, LOGPIPE, str(log), "1000", "2"], input=b"y" * 2500 + b"\nend\n", timeout=60)
    assert r.returncode == 0
    sizes = {path: os.path.getsize(path) for path in glob.glob(f"{log}*")}
    assert all(size <= 1000 for size in sizes.values()), sizes
    assert open(log, "rb").read().endswith(b"end\n")
