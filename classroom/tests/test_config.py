"""The class's configuration (python3 -m classroom config): set, unset and show; refusals that write
nothing; the write that replaces the file at once; the environment bridge the scripts read; make's
command-line variables remembered; the reference generated from the schema. Fast: no class is started."""
import os
import shlex
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, REPO)
from classroom import config  # noqa: E402
from classroom.schema import SETTINGS  # noqa: E402


@pytest.fixture
def env(tmp_path):
    """An environment naming a state folder of its own and no setting of the caller's."""
    names = {s.env for s in SETTINGS}
    e = {k: v for k, v in os.environ.items() if k not in names and k != "MAKEFLAGS"}
    e["CLASSROOM_DIR"] = str(tmp_path / "state")
    return e


def run(env, *args, ok=True):
    r = subprocess.run([sys.executable, "-m", "classroom", *args], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=60)
    assert (r.returncode == 0) == ok, f"{args}: {r.stdout}{r.stderr}"
    return r.stdout + r.stderr


def shown(env):
    """config show as {key: (value, source)}."""
    found = {}
    for line in run(env, "config", "show").splitlines()[1:]:
        key, _, rest = line.partition(" = ")
        value, _, source = rest.rpartition("    (")
        found[key] = (value, source.rstrip(")"))
    return found


def file_of(env):
    return os.path.join(env["CLASSROOM_DIR"], "classroom.toml")


def test_set_show_unset(env, tmp_path):
    roster = tmp_path / "students.txt"
    roster.write_text("ada\n")
    before = shown(env)
    assert before["port"] == ("8000", "default") and before["solutions"] == ("withhold", "default")
    assert len(before) == len(SETTINGS)
    run(env, "config", "set", "port=8123", f"roster={roster}", "solutions=include")
    after = shown(env)
    assert after["port"] == ("8123", "file") and after["roster"] == (str(roster), "file")
    assert after["solutions"] == ("include", "file") and after["teacher"] == ("teacher", "default")
    st = os.stat(file_of(env))
    assert st.st_mode & 0o777 == 0o600 and os.stat(env["CLASSROOM_DIR"]).st_mode & 0o777 == 0o700
    assert shown(dict(env, CLASSROOM_PORT="8200"))["port"] == ("8200", "environment CLASSROOM_PORT")
    run(env, "config", "unset", "port", "solutions")
    again = shown(env)
    assert again["port"] == ("8000", "default") and again["roster"] == (str(roster), "file")


@pytest.mark.parametrize("pair, says", [
    ("colour=blue", "'colour' is not a setting of the class"),
    ("port=http", "port = 'http' is refused: give a TCP port"),
    ("port=70000", "port = '70000' is refused"),
    ("solutions=maybe", "solutions = 'maybe' is refused: give withhold or include"),
    ("roster=/nonexistent/roster.txt", "roster = '/nonexistent/roster.txt' is refused: there is no file"),
    ("teacher=Root", "teacher = 'Root' is refused: give an account name"),
    ("idle_timeout=5", "idle_timeout = '5' is refused: give a whole number, at least 60"),
    ("upstream_url=ftp://x", "upstream_url = 'ftp://x' is refused"),
    ("state_dir=/tmp", "state_dir says where this configuration lives"),
    ("port", "'port' is not KEY=VALUE"),
])
def test_refused_writes_nothing(env, pair, says):
    run(env, "config", "set", "teacher=ms-lee")
    with open(file_of(env), "rb") as f:
        kept = f.read()
    out = run(env, "config", "set", "pull_timeout=30", pair, ok=False)
    assert says in out and out.count("\n") == 1, out
    with open(file_of(env), "rb") as f:
        assert f.read() == kept
    assert os.listdir(env["CLASSROOM_DIR"]) == ["classroom.toml"]


def test_refused_first_set_makes_no_file(env):
    run(env, "config", "set", "port=x", ok=False)
    assert not os.path.exists(env["CLASSROOM_DIR"])


def test_a_failed_write_keeps_the_old_file(env, monkeypatch):
    run(env, "config", "set", "teacher=ms-lee")
    with open(file_of(env), "rb") as f:
        kept = f.read()

    def crash(*_):
        raise OSError("disk gone")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        config.set_values(["teacher=mr-kim", "port=8300"], env)
    with open(file_of(env), "rb") as f:
        assert f.read() == kept
    assert os.listdir(env["CLASSROOM_DIR"]) == ["classroom.toml"]


@pytest.mark.parametrize("value", ["it's \"quoted\"", "two words $(touch /tmp/p31-pwned) `id` ${HOME}", "a\\b;c|d&e\tf"])
def test_env_quotes_every_value(env, tmp_path, value):
    """Through the file (TOML) and the bridge (sh), a value comes out as it went in, and nothing in it runs."""
    roster = tmp_path / value.replace("/", "_")
    roster.write_text("ada\n")
    url = "http://x/$(touch${IFS}/tmp/p31-pwned)`touch${IFS}/tmp/p31-pwned`"
    run(env, "config", "set", f"roster={roster}", f"class_url={url}")
    assert shown(env)["roster"] == (str(roster), "file")
    lines = run(env, "config", "env")
    assert f"export ROSTER={shlex.quote(str(roster))}\n" in lines
    said = subprocess.run(["sh", "-c", lines + 'printf "%s\\n%s" "$ROSTER" "$CLASS_URL"'], capture_output=True,
                          text=True, check=True, env=env).stdout
    assert said == f"{roster}\n{url}"
    assert not os.path.exists("/tmp/p31-pwned")
    assert "port = 8000" not in open(file_of(env)).read()  # defaults are not written


def test_environment_wins_over_the_file(env):
    run(env, "config", "set", "teacher=ms-lee", "port=8123")
    lines = run(dict(env, TEACHER="mr-kim"), "config", "env")
    assert "export TEACHER=mr-kim\n" in lines and "export CLASSROOM_PORT=8123\n" in lines


def test_defaults_are_the_scripts(env):
    """The schema's defaults are what classroom/lib.sh defaults the same variables to."""
    names = ["CLASSROOM_PORT", "ROSTER", "CLASSROOM_DIR", "TEACHER", "STUDENT_GROUP", "GATEWAY_USER", "CLASS_VAR",
             "LOG_MAX_BYTES", "CLASSROOM_HOST", "CLASSROOM_HTTPS_PORT"]
    script = f'source {REPO}/classroom/lib.sh; CLASSROOM_RUNTIME=$RUNTIME; ' + "".join(
        f'printf "%s=%s\\n" {n} "${n}"; ' for n in names + ["CLASSROOM_RUNTIME"])
    scripts = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    ours = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in
            subprocess.run(["sh", "-c", run(env, "config", "env") + "env"], env={}, capture_output=True, text=True,
                           check=True).stdout.splitlines() if "=" in line}
    for line in scripts.splitlines():
        name, value = line.split("=", 1)
        assert ours.get(name) == value, f"{name}: lib.sh says {value!r}, the schema {ours.get(name)!r}"


def test_make_remembers_command_line_variables(env):
    """make classroom-status CLASSROOM_PORT=N writes it into the configuration and runs the script with it;
    the next make without it uses it; the environment still wins; a bad value stops make and writes nothing."""
    def make(*args, **extra):
        return subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom-status", *args],
                              env=dict(env, **extra), capture_output=True, text=True, timeout=120)
    r = make("CLASSROOM_PORT=8123", "CONFIRM=yes")
    assert r.returncode == 0 and "127.0.0.1:8123 is not running" in r.stdout, r.stdout + r.stderr
    assert shown(env)["port"] == ("8123", "file") and "confirm" not in open(file_of(env)).read().lower()
    r = make()
    assert "127.0.0.1:8123 is not running" in r.stdout, r.stdout + r.stderr
    r = make(CLASSROOM_PORT="8124")
    assert "127.0.0.1:8124 is not running" in r.stdout and shown(env)["port"] == ("8123", "file")
    r = make("CLASSROOM_PORT=eighty")
    assert r.returncode != 0 and "port = 'eighty' is refused" in r.stderr and "not running" not in r.stdout
    assert shown(env)["port"] == ("8123", "file")


def test_reference_is_generated_from_the_schema():
    with open(config.REFERENCE) as f:
        assert f.read() == config.reference(), "docs/classroom-config.md differs: python3 -m classroom config reference"
    for s in SETTINGS:
        assert f"| `{s.key}` | `{s.env}` |" in config.reference()


def test_where_the_class_runs_does_not_change_under_it(env):
    """While the hub runs (its pid file names a live process), port, runtime and class_var are refused:
    make classroom-down would no longer find the class."""
    run(env, "config", "set", "port=8123")
    with open(os.path.join(env["CLASSROOM_DIR"], "jupyterhub.pid"), "w") as f:
        f.write(f"{os.getpid()}\n")
    out = run(env, "config", "set", "port=8124", ok=False)
    assert "port says where the running class is" in out and "make classroom-down" in out
    assert "stop it first" in run(env, "config", "unset", "port", ok=False)
    run(env, "config", "set", "port=8123", "teacher=ms-lee")  # the same port, and other keys, are fine
    with open(os.path.join(env["CLASSROOM_DIR"], "jupyterhub.pid"), "w") as f:
        f.write("999999999\n")  # no such process: the class has stopped
    run(env, "config", "set", "port=8124")
    assert shown(env)["port"] == ("8124", "file")
