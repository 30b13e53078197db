"""The unchanged lesson through the class gateway: STREAMDEMO_BASE_URL points at
the gateway and the key is the student's gateway token, as in a JupyterHub class
(where the token is also $JUPYTERHUB_API_TOKEN, the server's own); the teacher's
upstream key stays in the gateway. Run with the real GoNB kernel, as a student would."""
import json
import os
import subprocess
import tempfile

import pytest

from cells import named
from conftest import BUILD, TEST_KEY
from kernel import Kernel
from listening import GATEWAY_SAYS, Listening
from test_notebooks import LESSON, Executed, answer, key_runs

# The lesson's cells that each ask for one answer.
ANSWERING = ("stream", "show", "exercise-1", "exercise-2", "exercise-3")


def gateway_cmd(binary, *args):
    out = subprocess.run([binary, "gateway", *args], check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def gateway(practice_server):
    """`streamdemo gateway serve` in front of the practice server, holding TEST_KEY as the upstream key."""
    base, _ = practice_server
    binary = os.path.join(BUILD, "streamdemo")  # built by practice_server
    data = tempfile.mkdtemp(prefix="gateway-", dir=BUILD)
    token = gateway_cmd(binary, "token", "add", "ana", "--data", data, "--rpm", "0")
    log_path = os.path.join(BUILD, "gateway.log")
    with Listening([binary, "gateway", "serve", "--addr", "127.0.0.1:0", "--upstream", base, "--data", data],
                   log_path, GATEWAY_SAYS, env=dict(os.environ, STREAMDEMO_UPSTREAM_KEY=TEST_KEY)) as gw:
        yield f"http://{gw.address}/v1", token, binary, data, log_path


@pytest.fixture(scope="module")
def lesson(gateway):
    url, token, *_ = gateway
    with pytest.MonkeyPatch.context() as mp:
        yield Executed("01-streaming-chat-completion.ipynb", class_env(url, token), mp)


def class_env(url, token):
    """What a JupyterHub class gives a student's server: the gateway, and the server's token as the key."""
    return {"PERPLEXITY_API_KEY": token, "JUPYTERHUB_API_TOKEN": token, "STREAMDEMO_PROVIDER": "perplexity",
            "STREAMDEMO_BASE_URL": url}


def test_the_lesson_streams_the_same_answers_through_the_gateway(lesson):
    cell = lesson.cell("stream")
    assert lesson.answer_text(cell) == answer("stars")
    assert len(lesson.streams(cell)) > len(answer("stars").split()) * 0.8, "not chunk by chunk"
    assert lesson.answer_text(lesson.cell("exercise-1")) == answer("stars")


def test_in_a_class_the_set_up_cell_says_the_class_provides_the_key(lesson, gateway):
    url, *_ = gateway
    said = lesson.text(lesson.cell("setup"))
    assert said == f"Answering with perplexity (Agent API) at {url}, model sonar-pro; your class provides the key\n", said


def test_a_refused_token_says_to_restart_the_server_or_tell_the_teacher(gateway):
    url, *_ = gateway
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMDEMO_", "PERPLEXITY_", "OPENAI_"))}
    env.update(class_env(url, "sdg_revoked-when-the-server-stopped"))
    kernel = Kernel(cwd=os.path.dirname(LESSON), env=env, log_path=os.path.join(BUILD, "gateway-lesson-kernel.log"))
    try:
        kernel.run(named(LESSON, "setup")[1])
        out = "".join(m["content"]["text"] for m in kernel.run(named(LESSON, "stream")[1]) if m["type"] == "stream")
    finally:
        kernel.close()
    assert out.strip() == ("The class gateway did not accept your token: restart your server (File > Hub Control Panel: "
                           "Stop My Server, then Start My Server), or tell your teacher."), out


def test_the_gateway_counted_each_answer_and_no_key_reached_the_notebook(lesson, gateway):
    url, token, binary, data, log_path = gateway
    report = json.loads(subprocess.run([binary, "gateway", "usage", "--data", data, "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    ana = next(s for s in report["students"] if s["name"] == "ana")
    answers = len([lesson.cell(name) for name in ANSWERING])
    assert ana["requests"] >= answers and ana["tokens_total"] > 0 and ana["estimated"] == 0, ana
    with open(lesson.out, encoding="utf-8") as f:
        saved = f.read()
    with open(log_path, encoding="utf-8") as f:
        logged = f.read()
    for text in (saved, logged):
        assert not any(run in text for run in key_runs(TEST_KEY)), "the upstream key leaked"
    assert not any(run in saved for run in key_runs(token)), "the student's token is in the saved notebook"
