"""The cell the benchmark runs and how it edits it, as a student does between runs: a new
question, a new system prompt, exercise 3's edit (a sleep in the loop), an identical re-run;
the same edits made to the seed's Python cell."""
import os
import sys

import seed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lesson-harness", "tests"))
from cells import named  # noqa: E402
LESSON = os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb")
GO_CALL = 'client.ChatStream(context.Background(), messages)'
GO_CALL_TEMPERATURE_0 = 'client.Stream(context.Background(), streamdemo.Request{Messages: messages, Temperature: new(float32)})'
PROMPT_END = "polite conversation with a user."  # the end of the system prompt, in Go and in Python
GO_LOOP = "\tfmt.Print(chunk.Text)\n}"
PY_LOOP = '    print(response.choices[0].delta.content, end="", flush=True)'

LESSON_CELL = "lesson cell"
NEW_QUESTION, IDENTICAL, NEW_PROMPT, EXERCISE_3 = "new question", "identical re-run", "new system prompt", "exercise 3's edit"
BACK = "back to the cell without the sleep"  # run between rounds, not measured
# What a round runs, in order. A literal edit follows a run of the same code, as when a student
# edits the cell they just ran; the last step takes exercise 3's sleep out again.
ROUND = (NEW_QUESTION, IDENTICAL, NEW_PROMPT, EXERCISE_3, BACK)
MEASURED = ROUND[:-1]


def replace_once(text, old, new):
    if text.count(old) != 1:
        raise ValueError(f"expected exactly one {old!r} in the cell")
    return text.replace(old, new)


def lesson_cells():
    """Our lesson's cells before its streaming cell (.env, %noautoget) and the streaming
    cell, found by the tags naming them (lesson-harness/tests/cells.py)."""
    return [named(LESSON, n)[1] for n in ("load-key", "noautoget")], named(LESSON, "stream")[1]


def go_cell_temperature_0(cell):
    """The lesson's streaming cell asking for temperature 0, as the seed's does for the local model."""
    return replace_once(cell, GO_CALL, GO_CALL_TEMPERATURE_0)


class Editor:
    """The edits of one kernel's cell, round after round: question and system prompt carry a
    take number; exercise 3's sleep lasts a take-numbered number of microseconds. The
    practice server answers every version alike, so only the client's work changes."""

    def __init__(self, cell, go):
        self.base, self.go = cell, go
        self.question = self.prompt = None  # None: as the notebook has them

    def code(self, step, round_number, nonce=""):
        """The cell as the student leaves it for this step of a round (0: the first round, which
        runs the cell as the notebook has it); takes are numbered nonce-N."""
        take = f"{nonce}-{round_number}"
        if step == NEW_QUESTION and round_number:
            self.question = take
        if step == NEW_PROMPT and round_number:
            self.prompt = take
        cell = self.base
        if self.question is not None:
            cell = replace_once(cell, seed.QUESTION, f"{seed.QUESTION[:-1]} (take {self.question})?")
        if self.prompt is not None:
            cell = replace_once(cell, PROMPT_END, f"{PROMPT_END[:-1]} (take {self.prompt}).")
        if step == EXERCISE_3:
            if self.go:
                cell = replace_once(cell, GO_LOOP, f"\tfmt.Print(chunk.Text)\n\ttime.Sleep({round_number + 1} * time.Microsecond)\n}}")
            else:
                cell = "import time\n" + replace_once(cell, PY_LOOP, f"{PY_LOOP}\n    time.sleep({round_number + 1} / 1e6)")
        return cell
