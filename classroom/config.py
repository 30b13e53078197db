"""The class's configuration: one flat TOML file, classroom.toml in the class's owner-only state folder
(CLASSROOM_DIR, build/classroom by default), 0600. Its keys are schema.py's.

    python3 -m classroom config show                 every key, its value and where it came from
    python3 -m classroom config set KEY=VALUE ...    all or nothing: a bad key or value is refused, nothing written
    python3 -m classroom config unset KEY ...
    python3 -m classroom config env                  the effective settings as shell assignments (for the scripts)
    python3 -m classroom config reference            writes docs/classroom-config.md from the schema

For now the environment wins over the file (the class's scripts and their tests set variables), the file
over the defaults. make's teacher targets write the variables given on make's command line here first
(set --from-make NAME...), so make classroom ROSTER=x is remembered.
"""
import os
import shlex
import stat
import sys
import tomllib

from classroom.schema import BY_ENV, BY_KEY, REPO, SETTINGS, default

FILE_NAME = "classroom.toml"
WHILE_STOPPED = ("port", "runtime", "class_var")  # they say where a running class is: changed, it would be lost
REFERENCE = os.path.join(REPO, "docs", "classroom-config.md")


class Refused(Exception):
    """A setting or command refused, with the one sentence that says what to do."""


def state_dir(environ=os.environ):
    return environ.get("CLASSROOM_DIR") or default(BY_KEY["state_dir"], {})


def path(environ=os.environ):
    return os.path.join(state_dir(environ), FILE_NAME)


def checked(setting, text):
    """The value of setting as kept, or Refused naming the key."""
    if not setting.in_file:
        raise Refused(f"{setting.key} says where this configuration lives, so it cannot be kept in it: "
                      f"set {setting.env} in the environment instead.")
    try:
        return setting.check(str(text))
    except ValueError as e:
        raise Refused(f"{setting.key} = {str(text)!r} is refused: {e}.") from None


def read(file):
    """The file's settings (key: value) as written. A value is not checked again here: a file named by one
    may be gone by now, and the class must still stop; the scripts check what they use."""
    try:
        with open(file, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise Refused(f"{file} is not valid TOML ({e}): fix it, or remove it to start from the defaults.") from None
    for key, value in raw.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise Refused(f"{key} in {file} is not a string or a number: python3 -m classroom config set {key}=VALUE.")
    return raw


def known(file):
    """read(file), every key a setting of the class."""
    values = read(file)
    for key in values:
        if key not in BY_KEY:
            raise Refused(f"{file} has a key {key!r} that the class does not know: "
                          f"python3 -m classroom config unset {key}.")
    return values


def toml_value(value):
    if isinstance(value, int):
        return str(value)
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in value)
    return f'"{escaped}"'


def owner_only(path, what, mend):
    """Refuses path if other accounts can read it: "{what} {path} can be read by other accounts (mode ...){mend}"."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise Refused(f"{what} {path} can be read by other accounts (mode {mode:o}){mend}")


def replace_file(file, text, mode=0o600, owner=None):
    """Replaces file at once with text (a temporary file beside it, then rename), with mode and, given, (uid, gid)."""
    tmp = f"{file}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if owner:
                os.fchown(f.fileno(), *owner)
            os.fsync(f.fileno())
        os.replace(tmp, file)
    except BaseException:
        os.unlink(tmp)
        raise


def write(file, values):
    """Replaces file at once, owner-only; the folder is made owner-only."""
    folder = os.path.dirname(file)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    text = "# The class's settings (python3 -m classroom config set|unset; docs/classroom-config.md).\n"
    order = [s.key for s in SETTINGS if s.key in values] + sorted(k for k in values if k not in BY_KEY)
    text += "".join(f"{key if key in BY_KEY else toml_value(key)} = {toml_value(values[key])}\n" for key in order)
    replace_file(file, text)


def effective(environ=os.environ):
    """[(setting, value as text, source)] in the schema's order; source is environment, file or default."""
    stored = known(path(environ))
    values, found = {}, []
    for s in SETTINGS:
        if s.env in environ:
            value, source = environ[s.env], "environment"
        elif s.key in stored:
            value, source = stored[s.key], "file"
        else:
            value, source = default(s, values), "default"
        values[s.key] = value
        found.append((s, str(value), source))
    return found


def running(environ=os.environ):
    """True if the class's hub runs (its pid file names a live process)."""
    try:
        with open(os.path.join(state_dir(environ), "jupyterhub.pid")) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def set_values(pairs, environ=os.environ):
    """Sets every KEY=VALUE of pairs, or none. An empty value unsets the key."""
    changes = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise Refused(f"{pair!r} is not KEY=VALUE: write it as, for example, roster=students.txt.")
        changes[key.strip()] = value
    file = path(environ)
    values = read(file)
    for key, value in changes.items():
        if key not in BY_KEY:
            raise Refused(f"{key!r} is not a setting of the class: python3 -m classroom config show lists them.")
        new = checked(BY_KEY[key], value) if value != "" else None
        if key in WHILE_STOPPED and new != values.get(key) and running(environ):
            raise Refused(f"{key} says where the running class is, so it cannot change while the class runs: "
                          "stop it first (make classroom-down).")
        if new is None:
            values.pop(key, None)
        else:
            values[key] = new
    write(file, values)


def unset(keys, environ=os.environ):
    file = path(environ)
    values = read(file)
    for key in keys:
        if key not in BY_KEY and key not in values:
            raise Refused(f"{key!r} is not a setting of the class: python3 -m classroom config show lists them.")
        if key in WHILE_STOPPED and key in values and running(environ):
            raise Refused(f"{key} says where the running class is, so it cannot change while the class runs: "
                          "stop it first (make classroom-down).")
        values.pop(key, None)
    write(file, values)


def from_make(names, environ=os.environ):
    """Writes the variables make was given on its command line (their values are in the environment) that
    are settings kept in the file; other names (CONFIRM, DESTDIR, CLASSROOM_DIR...) are left alone."""
    pairs = [f"{BY_ENV[n].key}={environ[n]}" for n in names if n in BY_ENV and BY_ENV[n].in_file and n in environ]
    if pairs:
        set_values(pairs, environ)


def shell(environ=os.environ):
    """The effective settings as export lines for sh (every value quoted); unset ones are left out."""
    return "".join(f"export {s.env}={shlex.quote(v)}\n" for s, v, _ in effective(environ) if v != "")


def show(environ=os.environ):
    lines = [f"# {path(environ)}"]
    for s, value, source in effective(environ):
        where = f"environment {s.env}" if source == "environment" else source
        lines.append(f"{s.key} = {value if value else '(none)'}    ({where})")
    return "\n".join(lines) + "\n"


def reference():
    """docs/classroom-config.md: every key, its variable, default and help, from the schema."""
    out = ["# The class's settings", "",
           "Generated by `python3 -m classroom config reference` from `classroom/schema.py`: edit that, not this.", "",
           f"The class keeps them in `{FILE_NAME}` in its owner-only state folder (`CLASSROOM_DIR`, `build/classroom`",
           "by default; 0600). `python3 -m classroom config set KEY=VALUE`, `config unset KEY` and `config show`",
           "manage it, and `make classroom VAR=...` (and the other teacher targets) write what make is given. For",
           "now a variable in the environment wins over the file. Secrets are never values: the upstream key and",
           "the hub database's URL stay in files named by path (`HUB_DATABASE_URL` is read from the environment",
           "only).", "",
           "| key | variable | kind | default | what |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        note = "" if s.in_file else " (environment only: it says where the file is)"
        out.append(f"| `{s.key}` | `{s.env}` | {s.kind} | {f'`{s.default}`' if s.default else 'none'} | {s.help}{note} |")
    return "\n".join(out) + "\n"


def main(args):
    command, rest = (args[0], args[1:]) if args else ("show", [])
    if command == "show" and not rest:
        sys.stdout.write(show())
    elif command == "set" and rest[:1] == ["--from-make"]:
        from_make(rest[1:])
    elif command == "set" and rest:
        set_values(rest)
        print(f"==> written to {path()} (takes effect at the next make classroom)")
    elif command == "unset" and rest:
        unset(rest)
        print(f"==> written to {path()}")
    elif command == "env" and not rest:
        sys.stdout.write(shell())
    elif command == "reference" and not rest:
        with open(REFERENCE, "w") as f:
            f.write(reference())
        print(f"==> {REFERENCE}")
    else:
        raise Refused("usage: python3 -m classroom config show | set KEY=VALUE... | unset KEY... | env | reference")
