"""The class's upstreams: every upstream the docs name starts a class and streams the lesson (what make classroom
asks `streamdemo resolve` about each: test_upstream_resolve.py)."""
import contextlib
import os
import subprocess
import time

import pytest
import requests

from conftest import MODEL_RUN, REPO, Class, class_model_started, class_model_stopped, free_port
from hubclient import text
from stub import Upstream


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
