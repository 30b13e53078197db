"""A teacher's own OpenAI-compatible upstream: up.sh's discovery (run alone, as up.sh runs it) finds the
protocol and the model, or names STUDENT_MODEL in one sentence."""
import subprocess
import sys

import pytest
import requests

from conftest import REPO
from stub import Upstream


def discover(url, model="", key=""):
    """up.sh's discover_upstream, as root runs it (the gateway's account, the key on stdin)."""
    script = f'source {REPO}/classroom/lib.sh; discover_upstream "$@"'
    return subprocess.run(["bash", "-c", script, "discover", url] + ([model] if model else []), input=key,
                          capture_output=True, text=True, timeout=60)


def test_the_only_model_of_a_chat_completions_server_is_the_class_model(klass):
    up = Upstream(["qwen2.5-7b-instruct"], key="uni-key-123")
    try:
        r = discover(up.url, key="uni-key-123")
    finally:
        up.close()
    assert (r.returncode, r.stdout.strip()) == (0, "chat qwen2.5-7b-instruct"), r.stderr
    assert "Bearer uni-key-123" in up.auth  # the key reached the upstream, in a header
    assert "uni-key-123" not in r.stdout + r.stderr


def test_several_models_stop_with_one_sentence_naming_student_model(klass):
    up = Upstream(["alpha", "beta", "gamma"])
    try:
        several = discover(up.url)
        chosen = discover(up.url, model="beta")
        unknown = discover(up.url, model="delta")
    finally:
        up.close()
    assert several.returncode and not several.stdout
    said = several.stderr.strip()
    assert said == "classroom: the upstream lists 3 models (alpha, beta, gamma): choose one with STUDENT_MODEL=...", said
    assert (chosen.returncode, chosen.stdout.strip()) == (0, "chat beta"), chosen.stderr
    assert unknown.returncode and "STUDENT_MODEL=delta" in unknown.stderr and "alpha, beta, gamma" in unknown.stderr
    unreachable = discover("http://127.0.0.1:9/v1")
    assert unreachable.returncode and "cannot reach the upstream" in unreachable.stderr and "UPSTREAM_URL" in unreachable.stderr


def test_a_server_with_the_agent_api_is_spoken_to_through_it(klass):
    practice = f"http://127.0.0.1:{klass.port + 2}/v1"  # the class's practice server, behind its key
    key = klass.upstream_key()
    model = requests.get(practice + "/models", headers={"Authorization": f"Bearer {key}"}).json()["data"][0]["id"]
    r = discover(practice, model=model, key=key)
    assert (r.returncode, r.stdout.strip()) == (0, f"responses {model}"), r.stderr
    refused = discover(practice)
    assert refused.returncode and "refused a request without a key (HTTP 401)" in refused.stderr, refused.stderr
    assert key not in r.stdout + r.stderr + refused.stderr


def discover_py(url, model="", key=""):
    """discover.py alone (no account of the class needed), the key on stdin."""
    return subprocess.run([sys.executable, f"{REPO}/classroom/discover.py", url] + ([model] if model else []), input=key,
                          capture_output=True, text=True, timeout=60)


def test_a_server_with_the_agent_api_at_its_own_path_is_spoken_to_there():
    up = Upstream(["sonar-pro"], key="k-1", agent=True)  # /v1/responses: 404, /v1/agent: the Agent API
    try:
        r = discover_py(up.url, key="k-1")
    finally:
        up.close()
    assert (r.returncode, r.stdout.strip()) == (0, "agent sonar-pro"), r.stderr
    assert up.paths.index("POST /v1/responses") < up.paths.index("POST /v1/agent")  # the alias first, then Perplexity's path


def test_a_server_without_the_agent_api_speaks_chat_completions():
    up = Upstream(["local-7b"])
    try:
        r = discover_py(up.url)
    finally:
        up.close()
    assert (r.returncode, r.stdout.strip()) == (0, "chat local-7b"), r.stderr
    assert "POST /v1/agent" in up.paths  # asked, and it said 404


@pytest.mark.parametrize("provider, model, asked", [
    ("", "", True),
    ("compatible", "", True),  # naming the provider alone still finds the model
    ("compatible", "m-1", True),  # and checks the named one is listed
    ("perplexity", "", False),
    ("ollama", "", False),
])
def test_which_starts_ask_a_custom_upstream(provider, model, asked):
    for url, custom in [("http://10.0.0.5:8000/v1", True), ("practice", False), ("http://127.0.0.1:11434/v1", False),
                        ("https://api.perplexity.ai/v1", False)]:
        r = subprocess.run(["bash", "-c", f'source {REPO}/classroom/lib.sh; asks_upstream "$@"', "-", url, provider, model])
        assert (r.returncode == 0) == (custom and asked), (url, provider, model)
