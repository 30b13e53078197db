"""Execute every notebook with the real GoNB kernel against the practice
server, and check what a learner would see, message by message."""
import glob
import os
import re
import statistics

import pytest

import check_outputs
import exercises
import run
from cells import code_cells, named
from conftest import BUILD, PACE, REPO, TEST_KEY
from kernel import final_markdown, markdown_bytes

NOTEBOOKS = os.path.join(REPO, "notebooks")
ANSWERS = os.path.join(REPO, "internal", "practice", "answers")
LESSON = os.path.join(NOTEBOOKS, "01-streaming-chat-completion.ipynb")
SOLUTIONS = os.path.join(NOTEBOOKS, "01-solutions.ipynb")
SUMMARY = re.compile(r"^(?:(\S+) delay: )?model \S+ · first chunk \S+ · total \S+ · (\d+) chunks · ", re.M)


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
        """The streamed answer: the cell's stdout before the summary line an exercise prints."""
        return self.text(cell).split("\n\nmodel ", 1)[0]

    def runs(self, cell):
        """Each answer the cell streamed, as (the times of its chunks' messages, its summary line):
        the streaming cell's one, the exercises' each ending with a summary line."""
        runs, times = [], []
        for m in self.streams(cell):
            found = SUMMARY.search(m["content"]["text"])
            if found:
                runs.append((times, m["content"]["text"][found.start():].split("\n")[0]))
                times = []
            elif m["content"]["text"].strip():
                times.append(m["t"])
        return runs + ([(times, None)] if times else [])

    def gaps(self, cell, run=0):
        times = self.runs(cell)[run][0]
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
        "01-streaming-chat-completion.ipynb": sorted(["setup", "stream", "show", "exercise-1", "exercise-2", "exercise-3"]),
        "01-solutions.ipynb": sorted(["setup", "exercise-1", "exercise-2", "exercise-3"]),
        "02-why-stream.ipynb": sorted(["setup", "ask-twice"]),
    }


def test_every_notebook_opens_with_the_same_run_me_first_cell():
    """One set-up cell, the first code cell of every notebook, saying so in its first line; the
    streaming cell is the Python lesson's, about ten lines, with nothing of the set-up in it."""
    paths = sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb")))
    setups = [named(p, "setup") for p in paths]
    assert len({source for _, source in setups}) == 1, "the notebooks' set-up cells differ"
    for path, (index, _) in zip(paths, setups):
        assert index == min(i for i, _ in code_cells(path).values()), f"{path}: the set-up cell is not the first code cell"
    assert setups[0][1].startswith("// ▶ Run me first"), setups[0][1][:80]
    stream = named(LESSON, "stream")[1].split("\n")
    assert stream[0] == "%%" and len(stream) - 1 <= 12, f"the streaming cell has {len(stream) - 1} lines of Go"
    for plumbing in ("LoadEnv", "NewClient", "context.", "import", "%"):
        assert plumbing not in "\n".join(stream[1:]), f"the streaming cell holds set-up: {plumbing}"


def test_each_exercise_starts_from_the_lesson_and_its_solution_is_the_students_work():
    """Each exercise cell asks the Python lesson's question with its system prompt and loop (the
    edits check the marked line), and the solutions notebook holds exactly the edited cells."""
    for name, edit in exercises.EDITS.items():
        lesson_cell, solved = named(LESSON, name)[1], named(SOLUTIONS, name)[1]
        assert exercises.SEED_QUESTION in lesson_cell and exercises.SEED_SYSTEM in lesson_cell, name
        assert edit(lesson_cell) == solved, f"{name}: the solution is not the lesson's cell with the marked line changed"


def test_set_up_cell_says_where_answers_come_from(lesson, practice_server):
    base, _ = practice_server
    said = lesson.text(lesson.cell("setup"))
    assert said == f"Answering with perplexity (Agent API) at {base}, model sonar-pro; key PERPLEXITY_API_KEY from the environment\n"


def test_lesson_streams_the_seed_answer_chunk_by_chunk(lesson):
    cell = lesson.cell("stream")
    assert lesson.text(cell) == answer("stars")
    streams = lesson.streams(cell)
    tokens = len(answer("stars").split())
    assert len(streams) > tokens * 0.8, f"only {len(streams)} stream messages for {tokens} words: not chunk by chunk"
    spread = streams[-1]["t"] - streams[1]["t"]
    assert spread > 0.8 * (tokens - 1) / PACE["tps"], f"the answer arrived within {spread:.2f}s: one block, not a stream"


def chunks(summary):
    return int(SUMMARY.match(summary).group(2))


def test_exercises_as_they_are_answer_the_lessons_question_with_a_summary(lesson):
    """Run unchanged, each exercise is the streaming cell plus a summary: no cell is its own solution."""
    for name in ("exercise-1", "exercise-2"):
        cell = lesson.cell(name)
        (times, summary), = lesson.runs(cell)
        assert lesson.answer_text(cell) == answer("stars") and chunks(summary) == len(answer("stars").split()), summary
    cell = lesson.cell("exercise-3")
    (fast, summary0), (slow, summary100) = lesson.runs(cell)
    assert summary0.startswith("0s delay: ") and summary100.startswith("100ms delay: "), (summary0, summary100)
    gaps = [statistics.median(lesson.gaps(cell, run)) for run in (0, 1)]
    assert max(gaps) < 0.095, f"median gaps {gaps} with no sleep in the loop yet"
    assert [p.count('class="chunk"') for p in svg_panels(lesson, cell)] == [len(answer("stars").split())] * 2


def test_solutions_show_each_effect(solutions, lesson):
    """The students' work, run: another answer, a haiku in fewer chunks, and gaps of 100 ms."""
    ex1 = solutions.cell("exercise-1")
    assert solutions.answer_text(ex1) == answer("population")
    ex2 = solutions.cell("exercise-2")
    (_, haiku), = solutions.runs(ex2)
    (_, stars), = lesson.runs(lesson.cell("exercise-2"))
    assert solutions.answer_text(ex2) == answer("haiku-stars") and 5 < chunks(haiku) < chunks(stars) / 5, (haiku, stars)
    ex3 = solutions.cell("exercise-3")
    fast, slow = (statistics.median(solutions.gaps(ex3, run)) for run in (0, 1))
    assert slow >= 0.095 and slow > 2 * fast, f"median gap {slow:.3f}s with the delay, {fast:.3f}s without"
    panels = svg_panels(solutions, ex3)
    assert [re.search(r'font-weight="bold">([^<]*)<', p).group(1) for p in panels] == ["0s delay", "100ms delay"]
    totals = [float(re.search(r"total ([0-9.]+) s", p).group(1)) for p in panels]
    # The loop, not the model, sets the pace: the total is about one delay per chunk.
    assert totals[1] > 0.095 * len(answer("stars").split()) > totals[0], totals


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


def svg_panels(executed, cell):
    """The panels of the one chart the saved cell shows."""
    charts = [o.data["text/html"] for o in saved_outputs(executed, cell)
              if "text/html" in o.get("data", {}) and "<svg" in o.data["text/html"]]
    assert len(charts) == 1, f"{len(charts)} charts"
    return re.split(r'<g class="panel"', charts[0])[1:]


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


def test_a_cell_run_before_the_set_up_cell_says_which_cell_to_run_first():
    """After a kernel restart (here: %reset, which forgets every cell as a restart does), each cell
    run alone says in one sentence to run the set-up cell first: no build error, no output."""
    from kernel import Kernel
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMDEMO_", "PERPLEXITY_"))}
    env["JPY_SESSION_NAME"] = LESSON  # as Jupyter Server sets it (kernel-setup/gonb-patches/0008)
    first_line = named(LESSON, "setup")[1].split("\n")[0]
    kernel = Kernel(cwd=NOTEBOOKS, env=env, log_path=os.path.join(BUILD, "out-of-order-kernel.log"))
    try:
        for name in ("stream", "show", "exercise-1", "exercise-2", "exercise-3"):
            kernel.run("%reset")
            messages = kernel.run(named(LESSON, name)[1])
            errors = [m["content"]["evalue"] for m in messages if m["type"] == "error"]
            shown = [m for m in messages if m["type"] != "error"]
            assert len(errors) == 1 and not shown, (name, errors, shown[:3])
            said = errors[0]
            assert said.startswith("This cell uses ") and "client" in said and "ctx" in said, (name, said)
            assert f"declared in the cell that starts “{first_line[:50]}" in said, (name, said)
            assert said.endswith(": run that cell first (a restarted kernel has forgotten every cell it ran)."), (name, said)
    finally:
        kernel.close()
