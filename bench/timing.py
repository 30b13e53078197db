"""What one measured run is, how received bytes map to the server's chunks, and the
statistics reported (median, p95)."""
from dataclasses import dataclass, field

# Moments that split "first chunk", recorded in Run.phases (seconds since start). The GoNB
# ones come from bench/probe.py's wrappers around `go` and `goimports`.
IMPORTS_START = "GoNB parsed the cell: goimports starts"
IMPORTS_END = "goimports done"
GET_END = "go get done (only with %autoget)"
BUILD_START = "go build starts"
BUILD_END = "go build done: the cell's program starts"
PRINTED = "program printed its first line"   # our cell's "Answering with ..." line
REQ = "request reached the server (≈)"       # server's first stamp minus its first-token delay
SENT = "server sent the first chunk"
FIRST = "first answer chunk visible"
ORDER = [IMPORTS_START, IMPORTS_END, GET_END, BUILD_START, BUILD_END, PRINTED, REQ, SENT, FIRST]


@dataclass
class Run:
    """One streamed answer, seen by one client. Times are seconds since the start
    (execute request sent, or process started)."""
    warm: bool                   # False for the warm-up ("first run")
    first: float                 # start -> first answer byte visible
    total: float                 # start -> kernel idle, or process exit
    arrivals: list               # [(seconds, cumulative answer bytes)] per message or pipe read
    delays: list = None          # per server chunk: server sent it -> client got its last byte (s)
    phases: dict = field(default_factory=dict)  # named moments (s since start) splitting `first`
    steps: dict = field(default_factory=dict)   # go build's steps (s), from a traced rebuild of the same cell
    answer_bytes: int = 0


def answer_arrivals(pieces, skip=0, limit=None):
    """pieces: [(seconds, n)], n bytes received at that time, in order. The first `skip`
    bytes are not the answer (e.g. the "Answering with ..." line) nor is anything past
    `limit` answer bytes (e.g. the seed's trailing "None"). Returns [(seconds, cumulative
    answer bytes)] for the pieces that carried answer bytes."""
    out, seen = [], 0
    for t, n in pieces:
        seen += n
        answer = max(0, seen - skip)
        if limit is not None:
            answer = min(answer, limit)
        if answer > (out[-1][1] if out else 0):
            out.append((t, answer))
    return out


def chunk_delays(arrivals, stamps, start):
    """Delay from the server writing each chunk to the client holding its last byte.
    arrivals: answer_arrivals() (seconds since `start`); stamps: [{"unix_ns", "bytes"}]
    from /v1/practice/last; start: wall-clock time (s) the arrival times count from."""
    delays, end, i = [], 0, 0
    for t, have in arrivals:
        while i < len(stamps) and end + stamps[i]["bytes"] <= have:
            end += stamps[i]["bytes"]
            delays.append(start + t - stamps[i]["unix_ns"] / 1e9)
            i += 1
    if i != len(stamps):
        raise ValueError(f"only {i} of the server's {len(stamps)} chunks arrived")
    return delays


def percentile(values, q):
    """Linear-interpolated percentile (as numpy's default), q in [0, 100]."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values):
    return percentile(values, 50)


def p95(values):
    return percentile(values, 95)
