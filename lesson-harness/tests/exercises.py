"""The students' work on the lesson's three exercises, made as a student makes it: the line marked
✏️ changed, nothing else. Each edit first checks that the cell still holds the Python lesson's
question, system prompt or loop there, so that no exercise cell is its own solution.
01-solutions.ipynb holds the lesson's exercise cells with exactly these edits made."""
import json

MARK = "✏️"
SEED_QUESTION = "How many stars are in the universe?"
SEED_SYSTEM = ('"You are an artificial intelligence assistant and you need to " +\n'
               '\t\t"engage in a helpful, detailed, polite conversation with a user."')
NEW_QUESTION = "What is the population of the world?"
HAIKU = "You are an AI assistant that responds in haikus."
SLEEP = "time.Sleep(delay)"


def marked_line(cell):
    """The one line of the cell that holds the mark."""
    lines = [line for line in cell.split("\n") if MARK in line]
    assert len(lines) == 1, f"{len(lines)} lines marked {MARK} in the cell, want one:\n{cell}"
    return lines[0]


def ask_another_question(cell, question=NEW_QUESTION):
    """Exercise 1: another question on the marked line."""
    line = marked_line(cell)
    assert f'Content: "{SEED_QUESTION}"' in line, f"the marked line does not ask the lesson's question: {line}"
    return cell.replace(line, line.replace(SEED_QUESTION, question))


def give_another_behaviour(cell, prompt=HAIKU):
    """Exercise 2: another system prompt, in place of the two lines under the mark."""
    line = marked_line(cell)
    assert cell.count(SEED_SYSTEM) == 1 and cell.index(line) < cell.index(SEED_SYSTEM), \
        f"the lesson's system prompt is not under the marked line:\n{cell}"
    return cell.replace(SEED_SYSTEM, json.dumps(prompt))


def slow_the_loop(cell, call=SLEEP):
    """Exercise 3: a sleep on the marked line, in the loop."""
    line = marked_line(cell)
    assert "time.Sleep" not in cell, "the cell sleeps already"
    code = line.lstrip()
    return cell.replace(line, line[:len(line) - len(code)] + call + " " + code)


EDITS = {"exercise-1": ask_another_question, "exercise-2": give_another_behaviour, "exercise-3": slow_the_loop}
