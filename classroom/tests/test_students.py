"""python3 -m classroom students list|add|remove over the class's roster file: comments kept, names checked
by roster.py's rule, a bad name changes nothing, the checkout's example roster is never edited. Fast."""
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if k not in ("ROSTER", "CLASSROOM_DIR", "MAKEFLAGS")}
    e["CLASSROOM_DIR"] = str(tmp_path / "state")
    roster = tmp_path / "students.txt"
    roster.write_text("# period 3\nada\nbo  # sits at the back\n")
    os.chmod(roster, 0o640)
    e["ROSTER"] = str(roster)
    return e


def run(env, *args, ok=True):
    r = subprocess.run([sys.executable, "-m", "classroom", "students", *args], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode == 0) == ok, f"{args}: {r.stdout}{r.stderr}"
    return r.stdout + r.stderr


def test_list_add_remove(env):
    assert run(env, "list").splitlines()[1:] == ["ada", "bo"]
    out = run(env, "add", "cy", "ada", "dee")
    assert "added cy, dee" in out and "next make classroom" in out
    assert run(env, "list").splitlines()[1:] == ["ada", "bo", "cy", "dee"]
    out = run(env, "remove", "bo", "zed")
    assert "removed bo from" in out
    with open(env["ROSTER"]) as f:
        assert f.read() == "# period 3\nada\ncy\ndee\n"
    assert os.stat(env["ROSTER"]).st_mode & 0o777 == 0o640


def test_roster_from_the_configuration(env):
    roster = env.pop("ROSTER")
    subprocess.run([sys.executable, "-m", "classroom", "config", "set", f"roster={roster}"], cwd=REPO, env=env,
                   check=True, capture_output=True)
    run(env, "add", "eve")
    assert run(env, "list").splitlines()[1:] == ["ada", "bo", "eve"]


@pytest.mark.parametrize("name", ["Ada", "9lives", "a b", "x" * 40, "ada;rm"])
def test_bad_name_changes_nothing(env, name):
    with open(env["ROSTER"]) as f:
        kept = f.read()
    out = run(env, "add", "cy", name, ok=False)
    assert "is not a valid account name" in out and out.count("\n") == 1, out
    with open(env["ROSTER"]) as f:
        assert f.read() == kept


def test_the_example_roster_is_not_edited(env):
    del env["ROSTER"]
    example = os.path.join(REPO, "classroom", "roster.example")
    with open(example) as f:
        kept = f.read()
    out = run(env, "add", "cy", ok=False)
    assert "the example in the checkout" in out and "config set roster=FILE" in out
    with open(example) as f:
        assert f.read() == kept
