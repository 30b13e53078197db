"""The lesson as a learner meets it: real JupyterLab in Debian's headless chromium.

Driver: Playwright for Python, not chromedp. The other notebook tests are already pytest in
.venv, and the `playwright` wheel from PyPI carries its own node driver, so one pinned line in
requirements.txt is the whole install; it drives /usr/bin/chromium (never `playwright install`,
whose download fails here). Its locators wait for the page by themselves (auto-waiting, with a
timeout), which suits a page that JupyterLab keeps rewriting while an answer streams.

Run: .venv/bin/pytest -q lesson-harness/browser   (after `make setup` and `bash kernel-setup/browser.sh`)
Screenshots go to build/screenshots/; UPDATE_DOCS_SCREENSHOTS=1 also copies the three README
pictures to docs/screenshots/.
"""
import json
import os
import re
import shutil

import pytest
from playwright.sync_api import expect

import exercises
from cells import named

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCREENSHOTS = os.path.join(REPO, "build", "screenshots")
LESSON = "01-streaming-chat-completion.ipynb"
SEED_QUESTION = "How many stars are in the universe?"
NEW_QUESTION = "What is the population of the world?"
SEED_ANSWER = "Astronomers estimate there are approximately 200 billion trillion"
NEW_ANSWER = "The world's population is about 8.2 billion"
SEED_ANSWER_END = "far longer than the age of the universe"
RUN_TIMEOUT = 120_000  # ms; the first cell compiles the repository's package

# Cells are found by the tag naming them in the lesson (lesson-harness/tests/cells.py), not by
# their text, so a teacher may reword them.
LESSON_PATH = os.path.join(REPO, "notebooks", LESSON)
SETUP_CELL, STREAM_CELL, SHOW_CELL = "setup", "stream", "show"


def shot(page, name, element=None):
    path = os.path.join(SCREENSHOTS, name + ".png")
    if element:
        element.evaluate("e => e.scrollIntoView({block: 'center'})")  # wholly inside the notebook's view
    (element or page).screenshot(path=path)


def open_lesson(page, lab):
    """Open the lesson in JupyterLab and wait until its Go kernel is connected."""
    base, token, _ = lab
    page.goto(f"{base}/lab/tree/{LESSON}?token={token}")
    kernel_dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    kernel_name = page.locator(".jp-NotebookPanel-toolbar .jp-KernelName", has_text="Go (gonb)")
    expect(kernel_dialog.or_(kernel_name)).to_be_visible(timeout=60_000)
    if kernel_dialog.is_visible():  # only for a notebook without a kernelspec
        kernel_dialog.locator("select").select_option(label="Go (gonb)")
        kernel_dialog.get_by_role("button", name="Select").click()
    # GoNB reports no status until its first execution: "unknown" counts as ready.
    page.wait_for_function("""() => {
        const s = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
        return s && ['idle', 'unknown'].includes(s.dataset.status) &&
               document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName').innerText.includes('Go (gonb)');
    }""", timeout=60_000)


def code_cell(page, name):
    """The lesson's code cell named name, by its place among the page's cells."""
    with open(LESSON_PATH, encoding="utf-8") as f:
        nb = json.load(f)
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(nb["cells"]))  # every cell on the page, so the places match
    cell = cells.nth(named(nb, name)[0])
    expect(cell).to_have_class(re.compile(r"\bjp-CodeCell\b"))
    return cell


def prompt(cell):
    return cell.locator(".jp-InputPrompt").inner_text().strip()


def start_cell(page, cell):
    """Click into the cell and press Shift+Enter, as a learner does; return its old prompt."""
    before = prompt(cell)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    return before


def wait_done(cell, before, timeout=RUN_TIMEOUT):
    """Wait until the cell's prompt shows a new execution count, e.g. [3]: after [2]: or [*]:."""
    expect(cell.locator(".jp-InputPrompt")).not_to_have_text(
        re.compile(r"^\s*(" + re.escape(before) + r"|\[\*\]:|\[ \]:)\s*$"), timeout=timeout)


def run_cell(page, cell, timeout=RUN_TIMEOUT):
    wait_done(cell, start_cell(page, cell), timeout)


def wait_kernel_idle(page, timeout=30_000):
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=timeout)


def output_text(cell):
    return cell.locator(".jp-OutputArea").inner_text()


def sample_while_streaming(page, cell, samples=3, step=150):
    """Read the cell's output from the page each time it has grown by `step` characters (about
    1.3 s of answer at the test pace), noting whether the cell was still running: [(text, running), ...]."""
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\*\]"))
    taken = []
    for _ in range(samples):
        least = len(taken[-1][0]) + step if taken else step
        handle = page.wait_for_function("""([cell, least]) => {
            const text = cell.querySelector('.jp-OutputArea').innerText;
            const running = cell.querySelector('.jp-InputPrompt').innerText.includes('*');
            return (text.length >= least || !running) && {text, running};
        }""", arg=[cell.element_handle(), least], timeout=30_000)
        sample = handle.json_value()
        taken.append((sample["text"], sample["running"]))
    return taken


@pytest.fixture(scope="module")
def page(browser, lab):
    page = browser.new_page()
    open_lesson(page, lab)
    yield page
    page.close()


class SetUp:
    """The set-up cell, run once per kernel, so each scenario can also run alone."""

    def __init__(self, page):
        self.page, self.done = page, False

    def ensure(self):
        if not self.done:
            run_cell(self.page, code_cell(self.page, SETUP_CELL))
            self.done = True


@pytest.fixture(scope="module")
def set_up(page):
    return SetUp(page)


def test_lesson_streams(page, set_up):
    """a. The set-up and streaming cells by Shift+Enter, the first cells of the lesson: the set-up
    says where answers come from, the answer grows on the page; the Show cell renders Markdown with
    linked [n] markers, a Sources list and the stats line."""
    setup, stream = code_cell(page, SETUP_CELL), code_cell(page, STREAM_CELL)
    run_cell(page, setup)
    expect(setup.locator(".jp-OutputArea")).to_contain_text("Answering with practice (Agent API) at http://127.0.0.1:")
    set_up.done = True

    before = start_cell(page, stream)
    samples = sample_while_streaming(page, stream)
    shot(page, "a1-streaming-page")
    shot(page, "lesson-streaming", stream)
    wait_done(stream, before)
    final = output_text(stream)
    shot(page, "a2-streamed-page")

    texts = [text for text, _ in samples]
    assert all(running for _, running in samples), "a sample was taken after the cell finished"
    assert all(len(a) < len(b) for a, b in zip(texts, texts[1:] + [final])), "the answer did not grow"
    assert all(final.startswith(t) for t in texts), "the answer was rewritten instead of extended"
    assert final.startswith(SEED_ANSWER) and SEED_ANSWER_END in final
    assert SEED_ANSWER_END not in texts[-1], "the last sample already held the whole answer"

    show = code_cell(page, SHOW_CELL)
    before = start_cell(page, show)
    growing = sample_while_streaming(page, show, samples=3, step=150)
    wait_done(show, before)
    shown = [text for text, _ in growing]
    assert all(running for _, running in growing), "a sample of the Show cell was taken after it finished"
    assert all(len(a) < len(b) for a, b in zip(shown, shown[1:])), "the Show cell's answer did not grow"
    assert "Astronomers estimate" in shown[0] and SEED_ANSWER_END not in shown[-1], shown
    expect(show.locator(".jp-RenderedMarkdown", has_text="Astronomers estimate").first).to_be_visible()
    marker = show.locator(".jp-RenderedMarkdown a", has_text="[1]").first
    expect(marker).to_have_attribute("href", re.compile(r"^https://"))
    expect(show.locator(".jp-RenderedMarkdown strong", has_text="Sources").first).to_be_visible()
    expect(show.locator(".jp-RenderedMarkdown ol li a[href^='https://']").first).to_be_visible()
    expect(show.locator(".jp-RenderedMarkdown", has_text="⏱ model").first).to_be_visible()
    expect(show.locator(".jp-OutputArea svg").first).to_be_visible()
    shot(page, "a3-show-finished-page")
    page.set_viewport_size({"width": 1100, "height": 1500})  # room for the whole rendered answer
    shot(page, "lesson-finished", show.locator(".jp-OutputArea"))
    page.set_viewport_size({"width": 1100, "height": 900})

    copy_to_docs("lesson-streaming", "lesson-finished")


def copy_to_docs(*names):
    """With UPDATE_DOCS_SCREENSHOTS=1, copy these screenshots to docs/screenshots for the README."""
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        docs = os.path.join(REPO, "docs", "screenshots")
        os.makedirs(docs, exist_ok=True)
        for name in names:
            shutil.copy(os.path.join(SCREENSHOTS, name + ".png"), docs)


def select_in_editor(page, cell, text):
    """Select `text` in the cell's editor as a learner does: click just before it, then
    Shift+Right over it. The click is made once the text stands still (the notebook may still be
    scrolling or laying out cells) and again until the editor has the focus: a click that lands
    beside it leaves the notebook in command mode, where each typed letter is a command."""
    editor = cell.locator(".cm-content")
    for _ in range(10):
        editor.scroll_into_view_if_needed()
        box = text_box(editor, text)
        page.wait_for_timeout(100)
        if box != text_box(editor, text):
            continue
        page.mouse.click(box["x"] + box["width"] / 4, box["y"])
        if editor.evaluate("e => e.contains(document.activeElement)"):
            break
    else:
        pytest.fail(f"the editor holding {text!r} did not take the focus after ten clicks")
    for _ in text:
        page.keyboard.press("Shift+ArrowRight")


def text_box(editor, text):
    """Where the first character of text is drawn in the editor."""
    box = editor.evaluate("""(editor, text) => {
        const walker = document.createTreeWalker(editor, NodeFilter.SHOW_TEXT);
        for (let node; (node = walker.nextNode());) {
            const at = node.data.indexOf(text);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + 1);
            const r = range.getBoundingClientRect();
            return {x: r.left, y: r.top + r.height / 2, width: r.width};
        }
        return null;
    }""", text)
    assert box, f"{text!r} is not in the editor"
    return box


def test_edit_prompt(page, set_up):
    """b. Replace the question in the streaming cell's editor, run it, get the new answer."""
    set_up.ensure()
    stream = code_cell(page, STREAM_CELL)
    select_in_editor(page, stream, SEED_QUESTION)
    page.keyboard.type(NEW_QUESTION)
    expect(stream.locator(".cm-content")).to_contain_text(f'Content: "{NEW_QUESTION}"')
    expect(stream.locator(".cm-content")).not_to_contain_text(SEED_QUESTION)
    shot(page, "b1-edited-prompt", stream)
    run_cell(page, stream)
    expect(stream.locator(".jp-OutputArea")).to_contain_text(NEW_ANSWER)
    assert SEED_ANSWER not in output_text(stream)
    shot(page, "b2-new-answer", stream)


RECORD_CHANGES = """(area) => {
    window.__changes = [];
    new MutationObserver(() => window.__changes.push(
        {t: performance.now(), length: area.innerText.length})).observe(
        area, {childList: true, subtree: true, characterData: true});
}"""


def test_stop_button(page, set_up):
    """c. Stop the Show cell mid-answer with the toolbar's stop button: the output stops changing
    within a second, the Stopped note appears, and the kernel goes back to idle."""
    set_up.ensure()
    show = code_cell(page, SHOW_CELL)
    start_cell(page, show)
    area = show.locator(".jp-OutputArea")
    expect(area).to_contain_text("Astronomers estimate", timeout=60_000)
    expect(show.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\*\]"))
    shot(page, "c1-show-streaming", show)

    area.evaluate(RECORD_CHANGES)
    clicked = page.evaluate("() => performance.now()")
    page.locator(".jp-NotebookPanel-toolbar jp-button[data-command='notebook:interrupt-kernel']").click()
    expect(area).to_contain_text("Stopped after", timeout=5_000)
    wait_kernel_idle(page)
    # Wait (bounded) until the output has been quiet for a second, then see when it last changed.
    page.wait_for_function("() => performance.now() - (window.__changes.at(-1)?.t ?? 0) > 1000",
                           timeout=10_000)
    last_change = page.evaluate("() => window.__changes.at(-1)?.t ?? 0")
    shot(page, "c2-stopped", show)

    assert last_change - clicked < 1000, f"output still changed {last_change - clicked:.0f} ms after stop"
    stopped = re.search(r"Stopped after (\d+) chunks", output_text(show))
    assert stopped and int(stopped.group(1)) > 0
    assert SEED_ANSWER_END not in output_text(show), "the answer ran to its end: the stop came too late"


def test_saved_outputs_survive_reload(page, set_up, lab):
    """d. Ctrl+S, then reload the page: the streaming cell's answer is still there, and on disk."""
    set_up.ensure()
    stream = code_cell(page, STREAM_CELL)
    if SEED_ANSWER.split()[0] not in output_text(stream) and NEW_ANSWER.split()[0] not in output_text(stream):
        run_cell(page, stream)  # run alone: make an answer first
    answer = output_text(stream).strip()
    assert answer.startswith((SEED_ANSWER, NEW_ANSWER)), answer[:200]

    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
    expect(tab).to_have_class(re.compile(r"jp-mod-dirty"))  # unsaved outputs or edits
    stream.locator(".cm-content").click()
    page.keyboard.press("Control+s")
    expect(tab).not_to_have_class(re.compile(r"jp-mod-dirty"))
    with open(os.path.join(lab[2], LESSON)) as f:
        saved = json.load(f)
    saved_text = "".join("".join(o.get("text", "")) for c in saved["cells"] for o in c.get("outputs", []))
    last_line = answer.splitlines()[-1]
    assert last_line in saved_text

    page.reload()
    open_lesson(page, lab)
    stream = code_cell(page, STREAM_CELL)
    expect(stream.locator(".jp-OutputArea")).to_contain_text(last_line)
    assert output_text(stream).strip() == answer
    shot(page, "d1-after-reload", stream)


def test_exercise_as_a_student(page, set_up):
    """e. Exercise 1 as a student does it: replace the lesson's question on the ✏️ line of the
    exercise's cell, run it, and read the new answer and the summary line under it."""
    set_up.ensure()
    cell = code_cell(page, "exercise-1")
    marked = exercises.marked_line(named(json.load(open(LESSON_PATH, encoding="utf-8")), "exercise-1")[1])
    assert SEED_QUESTION in marked
    select_in_editor(page, cell, SEED_QUESTION)
    page.keyboard.type(NEW_QUESTION)
    expect(cell.locator(".cm-content")).to_contain_text(f'Content: "{NEW_QUESTION}"}}, // ✏️')
    run_cell(page, cell)
    area = cell.locator(".jp-OutputArea")
    expect(area).to_contain_text(NEW_ANSWER)
    summary = re.search(r"model \S+ · first chunk (\S+) · total (\S+) · (\d+) chunks", output_text(cell))
    assert summary and int(summary.group(3)) > 10, output_text(cell)[-400:]
    shot(page, "e1-exercise-1-done", cell)
    shot(page, "lesson-exercise", cell)
    copy_to_docs("lesson-exercise")


def test_a_cell_run_after_a_restart_says_which_cell_to_run_first(page, set_up):
    """f. Restart the kernel and run the streaming cell alone: one sentence says to run the set-up
    cell first (the kernel reads the saved notebook JupyterLab opened), not a build error."""
    page.locator(".jp-NotebookPanel-toolbar jp-button[data-command='notebook:restart-kernel']").click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()  # "Confirm Kernel Restart"
    set_up.done = False
    page.wait_for_function("""() => {
        const s = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
        return s && ['idle', 'unknown'].includes(s.dataset.status);
    }""", timeout=60_000)
    stream = code_cell(page, STREAM_CELL)
    run_cell(page, stream)
    said = output_text(stream)
    first_line = named(json.load(open(LESSON_PATH, encoding="utf-8")), SETUP_CELL)[1].split("\n")[0]
    assert "This cell uses client and ctx, declared in the cell that starts “" + first_line[:50] in said, said
    assert "run that cell first" in said and "undefined" not in said, said
    shot(page, "f1-run-too-early", stream)
    set_up.ensure()
    run_cell(page, stream)
    assert output_text(stream).startswith((SEED_ANSWER, NEW_ANSWER)), output_text(stream)[:300]  # b may have edited it
