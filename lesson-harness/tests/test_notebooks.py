"""Execute every notebook with the real GoNB kernel against the practice
server, and check what a learner would see, message by message."""
import glob
import os
import re
import statistics

import pytest

import check_outputs
import run
from cells import code_cells, named
from conftest import BUILD, PACE, REPO, TEST_KEY
from kernel import final_markdown, markdown_bytes

NOTEBOOKS = os.path.join(REPO, "notebooks")
ANSWERS = os.path.join(REPO, "internal", "practice", "answers")


def answer(name):
    with open(os.path.join(ANSWERS, name + ".md"), encoding="utf-8") as f:
        return f.read().strip()


def key_runs(key, n=8):
    return {key[i:i + n] for i in range(len(key) - n + 1)}


class Executed:
    """A notebook run: its saved copy and the timed messages of each cell."""

    def __init__(self, name, env, monkeypatch):
        for k in ("PERPLEXITY_API_KEY", "OPENAI_API_KEY", "STREAMDEMO_PROVIDER", "STREAMDEMO_BASE_URL", "STREAMDEMO_MODEL"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        self.out = os.path.join(BUILD, name)
        client = run.run(os.path.join(NOTEBOOKS, name), out=self.out, echo=False,
                         kernel_log=os.path.join(BUILD, name + ".kernel.log"))
        self.nb, self.messages = client.nb, client.messages

    def cell(self, name):
        """The index of the code cell named name (cells.py)."""
        return named(self.nb, name)[0]

    def streams(self, cell):
        return [m for m in self.messages if m["cell"] == cell and m["type"] == "stream"]

    def text(self, cell):
        return "".join(m["content"]["text"] for m in self.streams(cell))

    def answer_text(self, cell):
        """The streamed answer: the cell's stdout after its provider line."""
        first, _, rest = self.text(cell).partition("\n")
        assert first.startswith("Answering with "), first
        return rest

    def gaps(self, cell):
        times = [m["t"] for m in self.streams(cell)][1:]  # after the provider line
        return [b - a for a, b in zip(times, times[1:])]


@pytest.fixture(scope="module")
def lesson(practice_server, tmp_path_factory):
    base, _ = practice_server
    with pytest.MonkeyPatch.context() as mp:
        yield Executed("01-streaming-chat-completion.ipynb",
                       {"PERPLEXITY_API_KEY": TEST_KEY, "STREAMDEMO_PROVIDER": "perplexity", "STREAMDEMO_BASE_URL": base}, mp)


@pytest.fixture(scope="module")
def solutions(practice_server):
    base, _ = practice_server
    with pytest.MonkeyPatch.context() as mp:
        yield Executed("01-solutions.ipynb", {"STREAMDEMO_PROVIDER": "practice", "STREAMDEMO_BASE_URL": base}, mp)


@pytest.fixture(scope="module")
def why_stream(practice_server):
    base, _ = practice_server
    with pytest.MonkeyPatch.context() as mp:
        yield Executed("02-why-stream.ipynb", {"STREAMDEMO_PROVIDER": "practice", "STREAMDEMO_BASE_URL": base}, mp)


def saved_outputs(executed, cell):
    return executed.nb.cells[cell].outputs


def svg_marks(executed, cell):
    """Chunk marks per chart the saved cell shows."""
    return [o.data["text/html"].count('class="chunk"') for o in saved_outputs(executed, cell)
            if "text/html" in o.get("data", {}) and "<svg" in o.data["text/html"]]


def test_every_notebook_is_tested():
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))) == \
        ["01-solutions.ipynb", "01-streaming-chat-completion.ipynb", "02-why-stream.ipynb"]


def test_every_code_cell_is_named_for_the_tests():
    names = {os.path.basename(p): sorted(code_cells(p)) for p in glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))}
    assert names == {
        "01-streaming-chat-completion.ipynb": sorted(["load-key", "noautoget", "stream", "show",
                                                      "exercise-1", "exercise-2", "exercise-3"]),
        "01-solutions.ipynb": sorted(["load-key", "noautoget", "exercise-1", "exercise-2", "exercise-3"]),
        "02-why-stream.ipynb": sorted(["load-key", "noautoget", "ask-twice"]),
    }


def test_key_cell_says_only_whether_a_key_was_found(lesson):
    cell = lesson.cell("load-key")
    assert "PERPLEXITY_API_KEY found: true" in lesson.text(cell)


def test_lesson_streams_the_seed_answer_chunk_by_chunk(lesson):
    cell = lesson.cell("stream")
    assert lesson.text(cell).startswith("Answering with perplexity (Agent API) at http://127.0.0.1:")
    assert lesson.answer_text(cell) == answer("stars")
    streams = lesson.streams(cell)
    tokens = len(answer("stars").split())
    assert len(streams) > tokens * 0.8, f"only {len(streams)} stream messages for {tokens} words: not chunk by chunk"
    spread = streams[-1]["t"] - streams[1]["t"]
    assert spread > 0.8 * (tokens - 1) / PACE["tps"], f"the answer arrived within {spread:.2f}s: one block, not a stream"


def test_exercise_1_gets_a_different_answer(lesson):
    cell = lesson.cell("exercise-1")
    assert lesson.answer_text(cell) == answer("population")


def test_exercise_2_gets_a_haiku(lesson):
    cell = lesson.cell("exercise-2")
    assert lesson.answer_text(cell) == answer("haiku-stars")
    assert len(lesson.streams(cell)) > 5


def test_exercise_3_delay_stretches_the_gaps(lesson):
    plain = lesson.cell("stream")
    delayed = lesson.cell("exercise-3")
    slow, fast = statistics.median(lesson.gaps(delayed)), statistics.median(lesson.gaps(plain))
    assert slow >= 0.095 and slow > 2 * fast, f"median gap {slow:.3f}s with the delay, {fast:.3f}s without"
    assert lesson.answer_text(delayed).startswith(answer("stars"))


def test_solutions_show_each_effect(solutions):
    ex1 = solutions.cell("exercise-1")
    assert solutions.text(ex1).startswith("Answering with practice (Agent API)")
    assert answer("population") in solutions.text(ex1) and "[5] " in solutions.text(ex1)
    assert answer("haiku-stars") in solutions.text(solutions.cell("exercise-2"))
    delayed = solutions.text(solutions.cell("exercise-3"))
    gap_ms = int(delayed.rsplit("average gap between chunks: ", 1)[1].split("ms")[0].split(".")[0])
    assert gap_ms >= 100, delayed[-200:]


def test_show_renders_live_markdown_at_bounded_cost(lesson):
    cell = lesson.cell("show")
    live = [m for m in lesson.messages if m["cell"] == cell and m["type"] in ("display_data", "update_display_data")]
    final = final_markdown(live)
    assert final.startswith("Astronomers estimate there are approximately 200 billion trillion")
    assert "[\\[1\\]](https://www.esa.int/" in final, "the [1] marker is not a link to source 1"
    assert "**Sources**\n\n1. [How many stars are there in the Universe?](https://www.esa.int/" in final
    assert "⏱ model openai/gpt-5.4 · first chunk" in final and "cost 0.005" in final
    ratio = markdown_bytes(live) / len(final.encode())
    assert ratio <= 3, f"sent {ratio:.2f} bytes of Markdown per byte shown"
    assert len(live) > 10, "the answer did not grow in place: too few display updates"
    by_display = {}
    for m in live:
        if m["type"] == "update_display_data" and m["content"]["data"].get("text/markdown"):
            by_display.setdefault(m["content"]["transient"]["display_id"], []).append(m["t"])
    gaps = [b - a for ts in by_display.values() for a, b in zip(ts, ts[1:])]
    assert gaps and min(gaps) > 0.05, f"a display was refreshed {min(gaps):.3f}s after the last time"


def test_saved_notebook_keeps_the_final_rendering(lesson):
    cell = lesson.cell("show")
    saved = "".join(o.data.get("text/markdown", "") for o in saved_outputs(lesson, cell) if "data" in o)
    assert "[\\[1\\]](https://www.esa.int/" in saved and "⏱ model openai/gpt-5.4" in saved
    assert saved.startswith("Astronomers estimate") and "6 quadrillion years" in saved
    chunks = int(saved.split(" chunks · ")[0].rsplit("· ", 1)[1])
    assert svg_marks(lesson, cell) == [chunks], "the chart should have one mark per chunk"


def test_delay_exercise_shows_its_timeline(lesson):
    cell = lesson.cell("exercise-3")
    assert svg_marks(lesson, cell) == [len(answer("stars").split())]


def test_why_stream_compares_whole_and_streamed(why_stream):
    cell = why_stream.cell("ask-twice")
    marks = svg_marks(why_stream, cell)
    # Each Show draws its own chart, then one chart holds both side by side.
    assert marks[0] == 1 and marks[1] > 100 and marks[2] == 1 + marks[1], marks
    shown = final_markdown([m for m in why_stream.messages if m["cell"] == cell])
    stats = [part.split("\n")[0] for part in shown.split("⏱ ")[1:]]
    assert len(stats) == 2 and " 1 chunks" in stats[0] and " 192 chunks" in stats[1], stats


@pytest.mark.parametrize("which", ["lesson", "solutions", "why_stream"])
def test_no_errors_no_key_no_machine_path(which, request):
    executed = request.getfixturevalue(which)
    assert not [m for m in executed.messages if m["type"] == "error"]
    assert not [m for m in executed.messages if m["type"] == "stream" and m["content"]["name"] == "stderr"]
    with open(executed.out, encoding="utf-8") as f:
        saved = f.read()
    shown = saved + "".join(str(m["content"]) for m in executed.messages)
    leaked = [r for r in key_runs(TEST_KEY) if r in shown]
    assert not leaked, f"outputs hold part of the key: {leaked[:3]}"
    assert check_outputs.problems(executed.out, [TEST_KEY]) == []
    assert REPO not in "".join(str(m["content"]) for m in executed.messages)


def test_committed_notebooks_are_clean():
    paths = glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))
    assert [p for path in paths for p in check_outputs.problems(path)] == []


def test_output_check_catches_keys_and_paths(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells":[{"cell_type":"code","source":"","metadata":{},"outputs":['
                   '{"output_type":"stream","name":"stdout","text":["key pplx-abcdefgh12345678\\n", "/home/ana/x.env"]}]}]}')
    found = check_outputs.problems(str(bad))
    assert any("API key" in p for p in found) and any("machine path" in p for p in found)


def test_terminal_demo_renders_what_the_cell_shows(lesson):
    """`make demo` prints the Show cell as terminal text: Markdown rendered, each link
    followed by its URL, no Markdown escapes, the chart as one line."""
    import io
    cell = lesson.cell("show")
    out = io.StringIO()
    run.show_outputs(saved_outputs(lesson, cell), file=out)
    text = out.getvalue()
    flat = " ".join(text.split())  # rich wraps lines at the terminal's width
    assert flat.startswith("Astronomers estimate there are approximately 200 billion trillion"), text[:200]
    assert "[1] (https://www.esa.int/" in flat, "the [1] marker should be followed by its URL"
    assert "How many stars are there in the Universe? (https://www.esa.int/" in flat
    assert "\\(" not in text and "**" not in text and "\\[" not in text, "Markdown source reached the terminal"
    assert re.search(r"tokens \(\d+ in, \d+ out\)", flat), text[-400:]
    chunks = int(flat.split(" chunks · ")[0].rsplit("· ", 1)[1])
    assert f"[chart] when each chunk arrived: {chunks} chunks, first after " in flat
    assert not [line for line in text.splitlines() if line != line.rstrip()], "lines padded with spaces"
