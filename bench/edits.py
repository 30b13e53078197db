"""The cells the benchmark runs and how it edits them, as a student does between runs:
a new question in the lesson's streaming cell, a new system prompt in exercise 2's cell,
the same edit made to the seed's Python cell."""
import os
import sys

import seed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lesson-harness", "tests"))
from cells import named  # noqa: E402
LESSON = os.path.join(REPO, "notebooks", "01-streaming-chat-completion.ipynb")
GO_CALL = 'client.ChatStream(context.Background(), messages)'
GO_CALL_TEMPERATURE_0 = 'client.Stream(context.Background(), streamdemo.Request{Messages: messages, Temperature: new(float32)})'
HAIKU = "You are an AI assistant that responds in haikus."
SEED_SYSTEM_LITERAL = ('"You are an artificial intelligence assistant and you need to "\n'
                       '            "engage in a helpful, detailed, polite conversation with a user."')

LESSON_CELL, EXERCISE_CELL = "lesson cell", "exercise 2 cell"
EDITED, UNCHANGED = "edited", "re-run unchanged"


def replace_once(text, old, new):
    if text.count(old) != 1:
        raise ValueError(f"expected exactly one {old!r} in the cell")
    return text.replace(old, new)


def lesson_cells():
    """Our lesson's cells before its streaming cell (set-up, .env, %noautoget) and the
    streaming cell, found by the tags naming them (lesson-harness/tests/cells.py)."""
    return [named(LESSON, n)[1] for n in ("setup", "load-key", "noautoget")], named(LESSON, "stream")[1]


def exercise_cell():
    """Exercise 2's cell: the lesson's streaming cell with the haiku system prompt."""
    cell = named(LESSON, "exercise-2")[1]
    if f'Content: "{HAIKU}"' not in cell:
        raise ValueError(f"exercise 2's cell no longer holds the system prompt {HAIKU!r} the benchmark edits")
    return cell


def go_cell_temperature_0(cell):
    """The lesson's streaming cell asking for temperature 0, as the seed's does for the local model."""
    return replace_once(cell, GO_CALL, GO_CALL_TEMPERATURE_0)


def seed_exercise_cell(cell):
    """The seed's streaming cell with exercise 2's system prompt."""
    return replace_once(cell, SEED_SYSTEM_LITERAL, f'"{HAIKU}"')


def edit(which, cell, n):
    """The cell as a student leaves it after edit number n: a new question (the lesson cell)
    or a new system prompt (the exercise cell), in Go or in Python alike. The practice
    server answers every version the same way, so only the client's work changes."""
    if which == LESSON_CELL:
        return replace_once(cell, seed.QUESTION, f"{seed.QUESTION[:-1]} (take {n})?")
    return replace_once(cell, HAIKU, f"{HAIKU[:-1]} (take {n}).")
