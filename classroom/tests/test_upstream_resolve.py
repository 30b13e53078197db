"""What make classroom tells its gateway and students about the upstream (classroom/upstream.py), as a real
`streamdemo resolve` says it: a teacher's own server asked for its protocol and model, or one sentence naming
STUDENT_MODEL, the key on stdin only; the class's own upstreams and Perplexity never asked. Fast: no class
is started, the binary is built here."""
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from conftest import REPO
from stub import Upstream
from test_upstream import practice_server

sys.path.insert(0, REPO)
from classroom import upstream  # noqa: E402


@pytest.fixture(scope="module")
def streamdemo(tmp_path_factory):
    exe = str(tmp_path_factory.mktemp("bin") / "streamdemo")
    subprocess.run(["go", "build", "-o", exe, "./cmd/streamdemo"], cwd=REPO, check=True, timeout=600)
    return exe


@dataclass
class Said:
    """What make classroom makes of resolve: its values (each ending in NUL) or its one sentence."""
    returncode: int
    stdout: str
    stderr: str


def run(streamdemo, url, provider="", model="", key=""):
    """upstream.resolve as make classroom runs it (as the caller: no account of the class needed)."""
    try:
        up = upstream.resolve(streamdemo, url, provider, model, key)
    except upstream.Refused as e:
        return Said(1, "", f"classroom: {e}\n")
    values = [up.url, up.provider, up.model, up.protocol, up.agent_path, "yes" if up.agent_only else ""]
    return Said(0, "".join(v + "\0" for v in values), "")


def asked(streamdemo, up, **kw):
    """run against the stub server up, closed after."""
    try:
        return run(streamdemo, up.url, **kw)
    finally:
        up.close()


def assigned(out):
    return out.split("\0")[:-1]


def test_the_only_model_of_a_chat_completions_server_is_the_class_model(streamdemo):
    up = Upstream(["qwen2.5-7b-instruct"], key="uni-key-123")
    r = asked(streamdemo, up, key="uni-key-123")
    assert r.returncode == 0, r.stderr
    assert assigned(r.stdout) == [up.url, "compatible", "qwen2.5-7b-instruct", "chat", "", ""]
    assert "Bearer uni-key-123" in up.auth  # the key reached the upstream, in a header
    assert "uni-key-123" not in r.stdout + r.stderr
    assert "uni-key-123" not in " ".join(upstream.resolve_command(streamdemo, up.url, "compatible", "", "uni-key-123"))


def test_several_models_stop_with_one_sentence_naming_student_model(streamdemo):
    up = Upstream(["alpha", "beta", "gamma"])
    try:
        several = run(streamdemo, up.url)
        chosen = run(streamdemo, up.url, model="beta")
        unknown = run(streamdemo, up.url, model="delta")
    finally:
        up.close()
    assert several.returncode == 1 and not several.stdout
    assert several.stderr == (f"classroom: The server at {up.url} lists 3 models (alpha, beta, gamma): name the class's "
                              "model with STUDENT_MODEL=NAME (or check UPSTREAM_URL and STUDENT_PROVIDER).\n")
    assert assigned(chosen.stdout)[1:4] == ["compatible", "beta", "chat"], chosen.stderr
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1, unknown.stderr
    assert "STUDENT_MODEL=NAME" in unknown.stderr and "alpha, beta, gamma" in unknown.stderr
    assert "STREAMDEMO_MODEL" not in several.stderr + unknown.stderr  # the notebook's setting, not the class's
    unreachable = run(streamdemo, "http://127.0.0.1:9/v1")
    assert unreachable.returncode == 1 and "check UPSTREAM_URL" in unreachable.stderr, unreachable.stderr


def test_a_server_with_the_agent_api_is_spoken_to_through_it(streamdemo):
    key = "practice-" + os.urandom(8).hex()
    with practice_server(key, streamdemo) as practice:
        r = run(streamdemo, practice, model="perplexity/sonar", key=key)
        refused = run(streamdemo, practice)
    assert assigned(r.stdout) == [practice, "compatible", "perplexity/sonar", "responses", "", ""], r.stderr
    assert refused.returncode == 1 and "(HTTP 401)" in refused.stderr and "UPSTREAM_KEY_FILE" in refused.stderr
    assert key not in r.stdout + r.stderr + refused.stderr


def test_a_server_with_the_agent_api_at_its_own_path_is_spoken_to_there(streamdemo):
    up = Upstream(["sonar-pro"], key="k-1", agent=True)  # /v1/responses: 404, /v1/agent: the Agent API
    r = asked(streamdemo, up, key="k-1")
    # Students speak the Agent API at /responses; the gateway sends it on to /v1/agent.
    assert assigned(r.stdout) == [up.url, "compatible", "sonar-pro", "responses", "v1/agent", ""], r.stderr
    assert up.paths.index("POST /v1/responses") < up.paths.index("POST /v1/agent")  # the alias first, then Perplexity's path


def test_a_server_that_answers_only_the_agent_api_gets_chat_completions_through_it(streamdemo):
    up = Upstream(["agent-1"], agent=True, chat=False)  # chat completions: 404
    r = asked(streamdemo, up)
    assert assigned(r.stdout) == [up.url, "compatible", "agent-1", "responses", "v1/agent", "yes"], r.stderr
    assert "POST /v1/chat/completions" in up.paths  # asked, and it said 404


def test_a_server_without_the_agent_api_speaks_chat_completions(streamdemo):
    up = Upstream(["local-7b"])
    r = asked(streamdemo, up)
    assert assigned(r.stdout) == [up.url, "compatible", "local-7b", "chat", "", ""], r.stderr
    assert "POST /v1/agent" in up.paths  # asked, and it said 404


def test_a_model_name_cannot_run_a_command_in_make_classroom(streamdemo, tmp_path):
    planted = tmp_path / "planted"
    name = f"m'$(touch {planted})`touch {planted}`;touch {planted}"
    up = Upstream([name])
    r = asked(streamdemo, up)
    assert assigned(r.stdout)[2] == name, r.stderr
    assert not planted.exists()


@pytest.mark.parametrize("kind, provider, model, key, want", [
    # The class's practice server stands in for Perplexity; chat completions reach it through the Agent API.
    ("practice", "", "", "", ["practice", "perplexity", "sonar-pro", "responses", "", "yes"]),
    ("local", "", "", "", ["local", "ollama", "smollm2-135m", "chat", "", ""]),
    ("local", "", "smollm2-360m", "", ["local", "ollama", "smollm2-360m", "chat", "", ""]),
    # A key and no URL: the library's rule makes it Perplexity's, at Perplexity's base URL.
    ("", "", "", "pplx-key-123", ["https://api.perplexity.ai/v1", "perplexity", "sonar-pro", "responses", "", "yes"]),
    ("https://api.perplexity.ai/v1", "", "sonar", "pplx-key-123",
     ["https://api.perplexity.ai/v1", "perplexity", "sonar", "responses", "", "yes"]),
    ("http://127.0.0.1:11434/v1", "", "", "", ["http://127.0.0.1:11434/v1", "ollama", "smollm2-135m", "chat", "", ""]),
])
def test_the_class_s_own_upstreams_and_perplexity_are_not_asked(streamdemo, kind, provider, model, key, want):
    r = run(streamdemo, kind, provider, model, key)
    assert r.returncode == 0, r.stderr
    assert assigned(r.stdout) == want
    assert not key or key not in r.stdout + r.stderr


def test_a_named_provider_is_not_asked_and_compatible_is(streamdemo):
    up = Upstream(["m-1", "m-2"])
    try:
        ollama = run(streamdemo, up.url, provider="ollama")
        asked = len(up.paths)
        compatible = run(streamdemo, up.url, provider="compatible", model="m-1")
    finally:
        up.close()
    assert assigned(ollama.stdout) == [up.url, "ollama", "smollm2-135m", "chat", "", ""], ollama.stderr
    assert asked == 0, up.paths
    assert assigned(compatible.stdout) == [up.url, "compatible", "m-1", "chat", "", ""], compatible.stderr
    assert "GET /v1/models" in up.paths  # and checks that the named model is listed
