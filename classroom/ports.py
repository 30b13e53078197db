"""Who holds a class's TCP ports. Any account may listen on a free loopback port, so a port is the class's
only while a process of the class's own account holds it: make classroom asks before it starts the hub
(nobody may hold them) and before it says the class is ready (the hub's account holds them).

    python3 classroom/ports.py free PORT=WHAT...            one sentence and exit 1 if anyone holds one
    python3 classroom/ports.py held-by UID PORT=WHAT...     one sentence and exit 1 unless UID holds each

WHAT names the port in the sentence ("the hub's public port"). The answer comes from /proc/net/tcp and
tcp6: a listening socket on the port, whatever address it is bound to, and the account that made it.
"""
import pwd
import sys

LISTEN = "0A"


def listeners(port):
    """The uids of the listening TCP sockets on port (any address, IPv4 or IPv6)."""
    uids = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            local, state, uid = fields[1], fields[3], fields[7]
            if state == LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                uids.append(int(uid))
    return uids


def account(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def parse(specs):
    ports = []
    for spec in specs:
        port, _, what = spec.partition("=")
        ports.append((int(port), what or f"port {port}"))
    return ports


def free(specs):
    """Nobody holds these ports, or one sentence (SystemExit)."""
    for port, what in parse(specs):
        if uids := listeners(port):
            raise SystemExit(f"classroom: port {port} ({what}) is held by a process of {account(uids[0])}, so the class"
                             f" is not started: end that process, or choose another CLASSROOM_PORT.")


def held_by(want, specs):
    """The account want (a uid) alone holds these ports, or one sentence (SystemExit)."""
    for port, what in parse(specs):
        uids = listeners(port)
        if not uids:
            raise SystemExit(f"classroom: nothing listens on port {port} ({what}), so the class is stopped again.")
        if set(uids) != {want}:
            other = next(u for u in uids if u != want)
            raise SystemExit(f"classroom: port {port} ({what}) is held by a process of {account(other)}, not the class's,"
                             f" so the class is stopped again: end that process, or choose another CLASSROOM_PORT.")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("free", "held-by"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "free":
        free(sys.argv[2:])
    else:
        held_by(int(sys.argv[2]), sys.argv[3:])


if __name__ == "__main__":
    main()
