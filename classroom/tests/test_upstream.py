"""The class's upstreams: up.sh's discovery of a teacher's own OpenAI-compatible server (run alone, as up.sh
runs it) finds the protocol and the model, or names STUDENT_MODEL in one sentence; every upstream the docs
name starts a class and streams the lesson."""
import contextlib
import os
import subprocess
import sys
import time

import pytest
import requests

from conftest import MODEL_RUN, REPO, Class, class_model_started, class_model_stopped, free_port
from hubclient import text
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


@contextlib.contextmanager
def practice_server(key, exe="/opt/streamdemo-classroom/bin/streamdemo"):
    """A practice server (the runtime's, or exe) on a loopback port of its own, behind key; yields its base URL."""
    port = free_port()
    server = subprocess.Popen([exe, "serve", "--addr", f"127.0.0.1:{port}"],
                              env=dict(os.environ, STREAMDEMO_PRACTICE_TOKEN=key), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        for _ in range(100):
            try:
                requests.get(url + "/models", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def test_a_server_with_the_agent_api_is_spoken_to_through_it(klass):
    key = "practice-" + os.urandom(8).hex()
    with practice_server(key) as practice:
        model = requests.get(practice + "/models", headers={"Authorization": f"Bearer {key}"}).json()["data"][0]["id"]
        r = discover(practice, model=model, key=key)
        refused = discover(practice)
    assert (r.returncode, r.stdout.strip()) == (0, f"responses {model}"), r.stderr
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


def test_a_server_that_answers_only_the_agent_api_gets_chat_completions_through_it():
    up = Upstream(["agent-1"], agent=True, chat=False)  # chat completions: 404
    try:
        r = discover_py(up.url)
    finally:
        up.close()
    assert (r.returncode, r.stdout.strip()) == (0, "agent agent-1 agent-only"), r.stderr


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
    for url, custom in [("http://10.0.0.5:8000/v1", True), ("practice", False), ("local", False),
                        ("http://127.0.0.1:11434/v1", False), ("https://api.perplexity.ai/v1", False)]:
        r = subprocess.run(["bash", "-c", f'source {REPO}/classroom/lib.sh; asks_upstream "$@"', "-", url, provider, model])
        assert (r.returncode == 0) == (custom and asked), (url, provider, model)


# Every upstream docs/classroom/howto-upstream.md names starts a class and streams the lesson through the real hub, after
# a start that failed (the gateway could not listen) left nothing of the class running.
UP_STUDENT, UP_TEACHER = "sdtest-up", "sdtest-upteacher"
KINDS = ["perplexity-with-key", "local-model", "practice", "custom-with-key", "custom-without-key", "custom-agent-api"]


def key_file(folder, key):
    path = os.path.join(folder, "upstream-key")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(key + "\n" if key else "")
    return path


@contextlib.contextmanager
def upstream(kind, folder):
    """(make classroom's variables, the line the lesson prints before answering, a check of what the upstream
    was asked) for a class on this kind of upstream; stops what it started."""
    folder = str(folder)
    if kind == "perplexity-with-key":  # the practice server stands in for Perplexity, behind a key, at a URL of its own
        key = "pplx-stand-in-" + os.urandom(8).hex()
        exe = os.path.join(folder, "streamdemo")
        subprocess.run(["go", "build", "-o", exe, "./cmd/streamdemo"], cwd=REPO, check=True, timeout=300)
        with practice_server(key, exe) as url:
            yield (dict(UPSTREAM_URL=url, UPSTREAM_KEY_FILE=key_file(folder, key), STUDENT_PROVIDER="perplexity"),
                   "perplexity (Agent API)", lambda said: "stars" in said)
    elif kind == "local-model":  # make classroom-model: the class's own, behind its socket
        class_model_started()
        try:
            slots = open(f"{MODEL_RUN}/slots").read().strip()
            assert slots == subprocess.run(["bash", f"{REPO}/kernel-setup/model-slots.sh"], capture_output=True,
                                           text=True).stdout.strip()
            assert f"OLLAMA_NUM_PARALLEL:{slots}" in open(f"{REPO}/build/ollama-class.log").read()
            yield (dict(UPSTREAM_URL="local", UPSTREAM_KEY_FILE=key_file(folder, "")),
                   "ollama (chat completions)", lambda said: len(said.split("model smollm2-135m", 1)[-1].strip()) > 20)
        finally:
            class_model_stopped()
    elif kind == "practice":
        yield dict(UPSTREAM_URL="practice"), "perplexity (Agent API)", lambda said: "stars" in said
    else:
        key = "uni-key-" + os.urandom(8).hex() if kind == "custom-with-key" else ""
        model = "agent-1" if kind == "custom-agent-api" else "uni-7b"
        up = Upstream([model], key=key or None, agent=kind == "custom-agent-api")
        api = "Responses API" if kind == "custom-agent-api" else "chat completions"
        path = "POST /v1/agent" if kind == "custom-agent-api" else "POST /v1/chat/completions"

        def asked(said):
            assert path in up.paths, up.paths
            assert set(up.auth) == {f"Bearer {key}" if key else None}, "the upstream saw another key"
            return "Stars are many." in said
        try:
            yield dict(UPSTREAM_URL=up.url, UPSTREAM_KEY_FILE=key_file(folder, key)), f"compatible ({api})", asked
        finally:
            up.close()


@pytest.mark.parametrize("kind", KINDS)
def test_every_upstream_starts_a_class_and_streams_the_lesson(kind, tmp_path):
    from test_classroom import LESSON, class_left, run_lesson
    c = Class(students=[UP_STUDENT], teacher=UP_TEACHER, state=os.path.join(REPO, "build", "classroom-test-up"), first_port=8500)
    c.remove()  # whatever an interrupted earlier run left
    try:
        with upstream(kind, tmp_path) as (variables, says, asked):
            c.env.update(variables)
            with c.gateway_blocked():
                failed = subprocess.run(["make", "--no-print-directory", "-C", REPO, "classroom"], env=c.env,
                                        capture_output=True, text=True, timeout=600)
            assert failed.returncode, failed.stdout[-1000:]
            assert "so the class is stopped again" in failed.stderr, failed.stderr[-1000:]
            assert not class_left(c), class_left(c)

            c.make("classroom")
            student = c.student(UP_STUDENT)
            student.start_server()
            kernel = student.open_kernel(LESSON)
            try:
                said = text(run_lesson(kernel))
            finally:
                kernel.close()
            assert f"Answering with {says} at {c.base}/services/llm/v1" in said, said[:500]
            assert "Error" not in said and asked(said), said[-500:]
            assert c.usage()[UP_STUDENT]["requests"] >= 1
    finally:
        c.remove()
        os.unlink(c.roster)
