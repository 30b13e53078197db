"""The live display through a real GoNB kernel: hostile sources, and the
stop button sent as a Jupyter interrupt mid-stream."""
import json
import os
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILD, REPO
import live_cost
from kernel import Kernel, final_markdown

SHOW = '''import (
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
	"github.com/streamdemo/streamdemo/pkg/streamdemo/notebook"
)

%%
messages := []streamdemo.Message{{Role: "user", Content: "How many stars are in the universe?"}}
client, err := streamdemo.NewClient(streamdemo.Config{})
if err != nil {
	fmt.Println(streamdemo.Hint(err))
	return
}
notebook.Show(client.Stream(context.Background(), streamdemo.Request{Model: MODEL, Messages: messages}))'''


@pytest.fixture(scope="module")
def kernel(practice_server):
    base, _ = practice_server
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STREAMDEMO_PROVIDER="practice", STREAMDEMO_BASE_URL=base)
    # GoNB's GONB_DIR is the kernel's folder; build/ sits in the repository, as notebooks/ does.
    k = Kernel(cwd=os.path.join(REPO, "build"), env=env, log_path=os.path.join(BUILD, "live-kernel.log"))
    yield k
    k.close()


def test_hostile_sources_come_out_inert(kernel):
    md = final_markdown(kernel.run(SHOW.replace("MODEL", '"test/hostile-sources"')))
    for bad in ("<img", "<script", "](javascript", "](JAVASCRIPT", "](data:", "</a>"):
        assert bad not in md, f"{bad!r} reached the notebook:\n{md}"
    assert "&lt;img src=x" in md and "link removed" in md, md
    assert "[A fine source \\(with parentheses\\)](https://example.com/a%20b%28c%29%3Cd%3E)" in md, md
    assert "[\\[5\\]](https://example.org/five)" in md or "[5]" not in md


def test_stop_button_ends_the_stream_and_keeps_the_text(kernel, practice_server):
    _, server_log = practice_server
    sent = {}

    def interrupt_after_some_text(msg, messages):
        if "at" not in sent and len(final_markdown(messages)) > 80:
            sent["at"] = time.monotonic()
            kernel.km.interrupt_kernel()

    messages = kernel.run(SHOW.replace("MODEL", '""'), on_message=interrupt_after_some_text)
    assert "at" in sent, "the answer never started"
    assert kernel.idle_at - sent["at"] < 1.0, f"the kernel took {kernel.idle_at - sent['at']:.2f}s to go idle"
    md = final_markdown(messages)
    assert md.startswith("Astronomers estimate"), md[:200]
    assert "**Stopped** after" in md and "the text received so far is kept" in md, md[-400:]
    assert "Counting one star per second" not in md, "the whole answer arrived: nothing was stopped"
    assert not [m for m in messages if m["type"] == "error" or m["content"].get("name") == "stderr"]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and "client disconnected" not in open(server_log).read():
        time.sleep(0.05)
    assert "client disconnected" in open(server_log).read(), "the practice server saw no disconnect"
    # The kernel is usable afterwards.
    again = kernel.run('%%\nfmt.Println("still here")')
    assert any("still here" in m["content"].get("text", "") for m in again)


def test_stop_pressed_five_times_leaves_nothing_behind(kernel, practice_server):
    base, _ = practice_server
    for _ in range(5):
        sent = {}

        def interrupt(msg, messages):
            if "at" not in sent and len(final_markdown(messages)) > 40:
                sent["at"] = time.monotonic()
                kernel.km.interrupt_kernel()

        md = final_markdown(kernel.run(SHOW.replace("MODEL", '""'), on_message=interrupt))
        assert "**Stopped** after" in md
    for _ in range(40):  # the server notices a hang-up at its next write, within milliseconds
        with urllib.request.urlopen(base + "/practice/status") as resp:
            active = json.load(resp)["active_streams"]
        if active == 0:
            break
        time.sleep(0.05)
    assert active == 0, "the server still streams to a stopped cell"
    # Cell programs are the kernel's children named gonb_<id>; give the last one a moment to exit.
    kernel_pid = str(kernel.km.provisioner.process.pid)
    for _ in range(40):
        cells = subprocess.run(["pgrep", "-P", kernel_pid, "-f", r"gonb_[0-9a-f]+/gonb_[0-9a-f]+"],
                               capture_output=True, text=True).stdout.strip()
        if not cells:
            break
        time.sleep(0.05)
    assert cells == "", f"cell programs still running: {cells}"
    again = kernel.run('%%\nfmt.Println("next cell")')
    assert any("next cell" in m["content"].get("text", "") for m in again)


@pytest.fixture(scope="module")
def paced():
    """Practice servers at 5, 10, 40 and 100 tokens per second (first token after 600 ms)."""
    servers = live_cost.PracticeServers(live_cost.PACES, os.path.join(BUILD, "paced"))
    yield servers
    servers.close()


@pytest.mark.parametrize("size,tps", [(100, 5), (100, 10), (1000, 40), (5000, 100), (20000, 100)])
def test_live_display_costs_at_most_3_bytes_per_answer_byte(kernel, paced, size, tps):
    """What Show sends, summed over the kernel's display_data and update_display_data
    messages (every MIME type's payload), per byte of answer: docs/live-display.md."""
    ratio, count, answer = live_cost.measure(kernel, paced.base[tps], size)
    assert ratio <= 3, f"{size} characters at {tps} tokens/s: {ratio:.2f} bytes sent per answer byte"
    assert answer.startswith("Astronomers estimate") and len(answer) >= size * 0.98, answer[-200:]
    assert count >= 3, f"only {count} display messages: the answer did not grow in place"


def test_slow_first_token_says_why(kernel):
    """Past 3 s without a first chunk, the waiting line says why the wait may be long."""
    servers = live_cost.PracticeServers([40], os.path.join(BUILD, "slow"), first_token="4s")
    try:
        messages = kernel.run(live_cost.CELL.replace("BASE", servers.base[40]).replace("SIZE", "200"))
    finally:
        servers.close()
    lines = [m["content"]["data"].get("text/markdown", "") for m in messages
             if m["type"] in ("display_data", "update_display_data")]
    waiting = [line for line in lines if line.startswith("⏳")]
    assert any("3 s*" in line and "searches the web" in line for line in waiting), waiting
    assert not any("searches the web" in line for line in waiting if "1 s*" in line or "2 s*" in line), waiting
