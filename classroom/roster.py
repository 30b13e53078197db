"""The roster is the truth (make classroom): who may log in, who keeps tokens and the gateway, which accounts
the class has ever made.

    python3 classroom/roster.py sync STATE TEACHER STUDENT...
        The passwords file holds exactly these people (a new one gets a new password, the others keep theirs);
        the accounts file records every account the class has ever made. Prints the dropped accounts (made
        once, no longer on the roster), one a line.
    python3 classroom/roster.py hub STATE HUB_URL
        The running hub and gateway follow the roster: every hub user not on it is deleted (their server
        stopped, every token of theirs revoked) and paused in the gateway at once (its cache of hub answers
        would otherwise let a token in for its last seconds); one dropped, then put back, is resumed.
    python3 classroom/roster.py accounts STATE
        Every account the class has ever made, one a line (classroom-remove deletes them all).
    python3 classroom/roster.py names ROSTER
        The student names of the roster file, one a line, each checked (one sentence and status 1 if not).

A roster file holds one student name per line; '#' starts a comment, blank characters are ignored.

STATE is the class's owner-only folder: passwords ("name password" lines), accounts, dropped (those paused
for being dropped), and the tokens of the roster and teacher-scripts services.
"""
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request


NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")


class BadName(ValueError):
    """A roster name that cannot be an account's, with what to do."""


def check_name(name):
    if not NAME.fullmatch(name):
        raise BadName(f"roster name '{name}' is not a valid account name: use lower-case letters, digits and '-',"
                      " starting with a letter")
    return name


def roster_name(line):
    """The name on one line of a roster file ('' for none): comments and blanks removed."""
    return re.sub(r"\s", "", line.split("#", 1)[0])


def roster_names(path):
    """The student names of the roster file at path, checked (BadName), or FileNotFoundError."""
    with open(path) as f:
        return [check_name(n) for n in map(roster_name, f) if n]


def read_lines(path):
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def write_lines(path, lines):
    """Replaces path at once, owner-only."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    os.replace(tmp, path)


def passwords(state):
    return dict(line.partition(" ")[::2] for line in read_lines(os.path.join(state, "passwords")))


def accounts(state):
    """Every account the class has made: its record, and (for a class from before the record) every name that
    ever had a password, since the passwords file only grew then."""
    names = read_lines(os.path.join(state, "accounts")) + list(passwords(state))
    return list(dict.fromkeys(names))


def sync(state, people):
    had = passwords(state)
    ever = accounts(state)
    write_lines(os.path.join(state, "accounts"), ever + [p for p in people if p not in ever])
    write_lines(os.path.join(state, "passwords"), [f"{p} {had.get(p) or secrets.token_urlsafe(9)}" for p in people])
    return [name for name in ever if name not in people]


def call(method, url, token, body=None):
    """(status, parsed JSON or the error's text) of one request with the token in a header; a server that
    says to try again in a moment (502, 503) is asked again for up to 20 s."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"token {token}", "Content-Type": "application/json"})
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            if e.code not in (502, 503) or time.monotonic() > deadline:
                return e.code, e.read(4096).decode(errors="replace")
        time.sleep(1)


def token(state, name):
    with open(os.path.join(state, name)) as f:
        return f.read().strip()


def hub_users(hub_url, roster_token, page=200):
    """The names of the hub's users, page by page."""
    names = []
    while True:
        status, users = call("GET", f"{hub_url}/hub/api/users?offset={len(names)}&limit={page}", roster_token)
        if status != 200:
            raise SystemExit(f"classroom: the hub refused the class's roster token (HTTP {status}), so dropped students"
                             " may still log in: make classroom-down, then make classroom.")
        names += [u["name"] for u in users]
        if len(users) < page:
            return names


def hub(state, hub_url):
    people = set(passwords(state))
    roster_token, teacher_token = token(state, "roster-api-token"), token(state, "teacher-api-token")
    for name in hub_users(hub_url, roster_token):
        if name in people:
            continue
        for _ in range(30):  # 400 while the server is still stopping
            status, _ = call("DELETE", f"{hub_url}/hub/api/users/{name}", roster_token)
            if status != 400:
                break
            time.sleep(1)
        if status not in (204, 404):
            raise SystemExit(f"classroom: the hub did not delete {name}, who is no longer on the roster (HTTP {status}):"
                             " see the hub's log, then make classroom again.")
        print(f"==> {name} is no longer on the roster: their hub user, server and tokens are gone")
    dropped_file = os.path.join(state, "dropped")
    dropped = read_lines(dropped_file)
    gone = [name for name in accounts(state) if name not in people]
    for name in gone + dropped:
        paused = name in gone
        if paused == (name in dropped):
            continue
        status, said = call("POST", f"{hub_url}/services/llm/teacher/pause", teacher_token, {"student": name, "paused": paused})
        never = status == 400 and "No student called" in str(said)  # they never used the gateway
        if status != 200 and not never:
            raise SystemExit(f"classroom: the gateway did not {'pause' if paused else 'resume'} {name} (HTTP {status}):"
                             " see the hub's log, then make classroom again.")
        dropped = [n for n in dropped if n != name] + ([name] if paused else [])
        write_lines(dropped_file, dropped)
        if paused:
            print(f"==> {name} is no longer on the roster: paused in the gateway (their usage is kept)")


def main():
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "sync":
        print("".join(n + "\n" for n in sync(args[1], args[2:])), end="")
    elif len(args) == 3 and args[0] == "hub":
        hub(args[1], args[2].rstrip("/"))
    elif len(args) == 2 and args[0] == "accounts":
        print("\n".join(accounts(args[1])))
    elif len(args) == 2 and args[0] == "names":
        try:
            print("".join(n + "\n" for n in roster_names(args[1])), end="")
        except FileNotFoundError:
            raise SystemExit(f"classroom: no roster at {args[1]}: write one student name per line, or set ROSTER=FILE")
        except BadName as e:
            raise SystemExit(f"classroom: {e}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
