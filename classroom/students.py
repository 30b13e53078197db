"""The roster, through the class's configuration (its roster key).

    python3 -m classroom students list
    python3 -m classroom students add NAME...
    python3 -m classroom students remove NAME...

The file keeps its comments and layout; names are checked by roster.py's rule. A change takes effect at the
next make classroom (new students get an account and a password; removed ones lose their login, tokens and
the gateway, and keep their home).
"""
import os

from classroom import config, roster
from classroom.schema import BY_KEY, default

NEXT = "it takes effect at the next make classroom"


def roster_file(environ=os.environ):
    for s, value, _ in config.effective(environ):
        if s.key == "roster":
            return value


def names(file):
    try:
        return roster.roster_names(file)
    except FileNotFoundError:
        raise config.Refused(f"there is no roster at {file}: write one student name per line, then "
                             f"python3 -m classroom config set roster={file}.") from None
    except roster.BadName as e:
        raise config.Refused(f"{e} (in {file}): fix it there.") from None


def own_roster(environ=os.environ):
    file = roster_file(environ)
    if os.path.abspath(file) == default(BY_KEY["roster"], {}):
        raise config.Refused(f"the class's roster is the example in the checkout ({file}): give the class one of "
                             "its own first: python3 -m classroom config set roster=FILE.")
    return file


def checked(given):
    try:
        return [roster.check_name(n) for n in given]
    except roster.BadName as e:
        raise config.Refused(f"{e}; nothing was changed.") from None


def replace(file, lines):
    """Writes lines into file at once, keeping its mode and owner."""
    st = os.stat(file)
    config.replace_file(file, "".join(lines), st.st_mode & 0o7777, (st.st_uid, st.st_gid) if os.geteuid() == 0 else None)


def add(given, environ=os.environ):
    file = own_roster(environ)
    have = names(file)
    new = [n for n in dict.fromkeys(checked(given)) if n not in have]
    with open(file) as f:
        lines = f.readlines()
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    replace(file, lines + [n + "\n" for n in new])
    return new


def remove(given, environ=os.environ):
    file = own_roster(environ)
    gone = set(checked(given))
    with open(file) as f:
        lines = f.readlines()
    kept = [line for line in lines if roster.roster_name(line) not in gone]
    replace(file, kept)
    return sorted(gone & {roster.roster_name(line) for line in lines})


def main(args):
    command, rest = (args[0], args[1:]) if args else ("list", [])
    if command == "list" and not rest:
        file = roster_file()
        found = names(file)
        print(f"# {file}: {len(found)} students")
        print("".join(n + "\n" for n in found), end="")
    elif command == "add" and rest:
        new = add(rest)
        print(f"==> added {', '.join(new) if new else 'nobody new'} to {roster_file()}; {NEXT}")
    elif command == "remove" and rest:
        gone = remove(rest)
        print(f"==> removed {', '.join(gone) if gone else 'nobody (not on the roster)'} from {roster_file()}; {NEXT}")
    else:
        raise config.Refused("usage: python3 -m classroom students list | add NAME... | remove NAME...")
