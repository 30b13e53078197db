"""The real local model (SmolLM2-135M-Instruct served by Ollama on loopback),
used as a learner without a key meets it: the CLI and the lesson's cells."""
import os
import re
import select
import signal
import subprocess
import time

import pytest

from cells import named
from conftest import BUILD, REPO
from kernel import Kernel

QUESTION = "How many stars are in the universe?"
SEED_SYSTEM = ("You are an artificial intelligence assistant and you need to "
               "engage in a helpful, detailed, polite conversation with a user.")
HAIKU_SYSTEM = "You are an AI assistant that responds in haikus."
SERVER = os.path.join(REPO, "kernel-setup", "model-server.sh")


def no_key_env():
    """The environment of a learner with no key and no provider configured."""
    return {k: v for k, v in os.environ.items() if not (k.endswith("_API_KEY") or k.startswith("STREAMDEMO_"))}


@pytest.fixture(scope="session")
def local_model(practice_server):  # practice_server builds build/test/streamdemo
    was_running = subprocess.run(["bash", SERVER, "status"], capture_output=True).returncode == 0
    started = subprocess.run(["bash", SERVER, "start"], capture_output=True, text=True)
    assert started.returncode == 0, "the local model did not start (run: bash kernel-setup/model.sh):\n" + started.stdout + started.stderr
    yield os.path.join(BUILD, "streamdemo")
    if not was_running:
        subprocess.run(["bash", SERVER, "stop"], capture_output=True)


def ask(binary, *args, on_output=None):
    """Run `streamdemo ask`; return stdout, stderr, exit code and when each piece of stdout came."""
    proc = subprocess.Popen([binary, "ask", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=no_key_env(), cwd=BUILD)
    out, pieces, start = b"", [], time.monotonic()
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no output for 60 s"
        data = os.read(proc.stdout.fileno(), 65536)
        if not data:
            break
        out += data
        pieces.append(time.monotonic() - start)
        if on_output:
            on_output(proc, out)
    err = proc.stderr.read().decode()
    return out.decode(), err, proc.wait(timeout=30), pieces


def answer_of(binary, system, temperature="0"):
    out, err, code, _ = ask(binary, "--system", system, "--temperature", temperature, "--seed", "42", QUESTION)
    assert code == 0, err
    return out.strip()


def test_ask_streams_the_local_models_answer_chunk_by_chunk(local_model):
    # Temperature 0 and a seed: the same answer every run, so its length is no accident.
    out, err, code, pieces = ask(local_model, "--temperature", "0", "--seed", "42", QUESTION)
    assert code == 0, err
    assert len(out.strip()) > 40, out
    assert len(pieces) >= 10 and pieces[-1] - pieces[0] > 0.2, f"{len(pieces)} pieces over {pieces[-1] - pieces[0]:.2f}s: not a stream"
    summary = err.strip().splitlines()[-1]
    tokens = re.search(r"· (\d+) chunks · .* (\d+) tokens \((\d+) in, (\d+) out\)", summary)
    assert summary.startswith("model smollm2-135m") and tokens, summary
    chunks, total, prompt, completion = map(int, tokens.groups())
    assert completion > 0 and prompt > 0 and total == prompt + completion and chunks > 5, summary
    assert "tokens/s" in summary and "first chunk" in summary


def test_haiku_system_prompt_changes_the_answer(local_model):
    plain = answer_of(local_model, SEED_SYSTEM)
    assert answer_of(local_model, SEED_SYSTEM) == plain, "temperature 0 and a seed should repeat the answer"
    haiku = answer_of(local_model, HAIKU_SYSTEM)
    assert haiku and haiku != plain


def test_the_model_stops_at_the_length_asked(local_model):
    # Behaviour, not facts: a 135M model's knowledge is no test of the kit.
    out, err, code, _ = ask(local_model, "--temperature", "0", "--seed", "42", "--max-tokens", "12", QUESTION)
    assert code == 0 and out.strip(), err
    completion = int(re.search(r"\((\d+) in, (\d+) out\)", err).group(2))
    assert 0 < completion <= 12, err


def test_the_model_answers_in_the_language_asked(local_model):
    out, err, code, _ = ask(local_model, "--temperature", "0", "--seed", "42", "Answer in English, in one sentence: why is the sky blue?")
    words = re.findall(r"\w+", out)
    english = [w for w in words if w.isascii() and w.isalpha()]
    assert code == 0 and len(words) >= 5 and len(english) >= 0.9 * len(words), out


def test_lesson_cells_stream_from_the_local_model(local_model):
    lesson = os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb")
    setup, streaming = named(lesson, "setup")[1], named(lesson, "stream")[1]
    kernel = Kernel(cwd=os.path.join(REPO, "notebooks"), env=no_key_env(), log_path=os.path.join(BUILD, "local-kernel.log"))
    try:
        said = "".join(m["content"]["text"] for m in kernel.run(setup) if m["type"] == "stream")
        messages = kernel.run(streaming)
    finally:
        kernel.close()
    assert said.startswith("Answering with ollama (chat completions) at http://127.0.0.1:11434/v1, model smollm2-135m (the local model"), said
    streams = [m for m in messages if m["type"] == "stream"]
    answer = "".join(m["content"]["text"] for m in streams)
    # The cell sets no temperature, so the answer differs from run to run (a 135M model may
    # say one short sentence): hold it to behaviour, not length. It streams in several
    # messages spread over time, and nothing goes to stderr.
    assert answer.strip() and not [m for m in streams if m["content"]["name"] == "stderr"], answer
    assert len(streams) >= 3 and streams[-1]["t"] - streams[0]["t"] > 0.02, f"the answer came in one block: {answer!r}"


def ollama_log():
    """The log of the `ollama serve` answering on 127.0.0.1:11434: where its stderr goes.

    Usually this checkout's build/ollama.log; found through /proc, so a server
    that another checkout of the repository started is read correctly too."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            if len(argv) < 2 or not argv[0].endswith(b"ollama") or argv[1] != b"serve":
                continue
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            if b"OLLAMA_HOST=127.0.0.1:11434" in env:
                return os.readlink(f"/proc/{pid}/fd/2")
        except OSError:
            continue
    return os.path.join(BUILD, "..", "ollama.log")


def handler_seconds(after_line):
    """How long Ollama worked on the first chat request logged after line number after_line."""
    log = ollama_log()
    for _ in range(100):
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()[after_line:]
        for line in lines:
            m = re.search(r"\|\s+\d+ \|\s+([\d.]+)(m?s|µs)\s+\|.*POST\s+\"/v1/chat/completions\"", line)
            if m:
                scale = {"s": 1, "ms": 1e-3, "µs": 1e-6}[m.group(2)]
                return float(m.group(1)) * scale
        time.sleep(0.05)
    raise AssertionError(f"Ollama logged no chat request in {log}")


def log_length():
    with open(ollama_log(), encoding="utf-8", errors="replace") as f:
        return len(f.read().splitlines())


def test_stopping_closes_the_connection_and_ollama_stops_generating(local_model):
    essay = ["--temperature", "0", "--seed", "42", "Write a long, detailed essay about the history of astronomy."]
    before = log_length()
    _, _, code, pieces = ask(local_model, *essay)
    whole = handler_seconds(before)
    assert code == 0 and whole > 2, f"the whole essay took only {whole:.1f}s: too short to test stopping"

    def interrupt_once(proc, out):
        if len(out) > 200 and not getattr(proc, "stopped", False):
            proc.stopped = time.monotonic()
            proc.send_signal(signal.SIGINT)

    before = log_length()
    out, err, code, _ = ask(local_model, *essay, on_output=interrupt_once)
    assert code == 1 and "Stopped after" in err and len(out) > 200, err
    stopped = handler_seconds(before)
    assert stopped < whole / 2, f"Ollama worked {stopped:.1f}s on a stopped request, {whole:.1f}s on a whole one"
