"""Errors in an edited cell still point at the cell's line, with the kernel built as
kernel-setup installs it (no cgo, -ldflags=-s -w): a compile error and a panic each name
the line of the cell that holds them, after the cell was edited and rebuilt."""
import html
import os
import re

import pytest

from conftest import BUILD, REPO
from kernel import Kernel

FIRST_TAKE = '''%%
messages := []string{"How many stars are in the universe?"}
fmt.Println(len(messages), "take 1")'''

# The same cell, edited: a line added above, then the mistake on line 4 of the cell.
COMPILE_ERROR = '''%%
messages := []string{"How many stars are in the universe?"}
fmt.Println("take 2")
var count int = "not a number"
fmt.Println(len(messages), count)'''

PANIC = '''%%
messages := []string{"How many stars are in the universe?"}
fmt.Println("take 3")
fmt.Println("another line")
fmt.Println(messages[5])'''

CELL_LINE_HTML = re.compile(r'gonb-cell-line-info">Cell\[\d+\]: Line (\d+)</span>')


@pytest.fixture(scope="module")
def kernel():
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMDEMO_")}
    k = Kernel(cwd=os.path.join(REPO, "build"), env=env, log_path=os.path.join(BUILD, "cell-errors-kernel.log"))
    try:
        first = k.run(FIRST_TAKE)
        assert [m["content"]["text"] for m in first if m["type"] == "stream"] == ["1 take 1\n"], first
        k.tmpdir = k.run("!echo $GONB_TMP_DIR")[0]["content"]["text"].strip()
        yield k
    finally:
        k.close()


def shown_html(messages):
    return "".join(m["content"]["data"].get("text/html", "") for m in messages if m["type"] == "display_data")


def test_compile_error_in_an_edited_cell_names_its_line(kernel):
    messages = kernel.run(COMPILE_ERROR)
    assert [m for m in messages if m["type"] == "error"], "the cell should fail to compile"
    shown = shown_html(messages)
    assert CELL_LINE_HTML.findall(shown) == ["4"], shown[-1500:]
    bad_line = re.search(r'<div class="gonb-err-line">(.*?)\n', shown).group(1)
    assert html.unescape(bad_line) == 'var count int = "not a number"'


def test_panic_in_an_edited_cell_names_its_line(kernel):
    messages = kernel.run(PANIC)
    stderr = "".join(m["content"]["text"] for m in messages if m["type"] == "stream" and m["content"]["name"] == "stderr")
    assert "index out of range [5]" in stderr, stderr
    # GoNB marks the cell's line in the stream by the full path of its main.go (-trimpath would
    # cut it); the error block it shows after the program exits names the line too.
    assert re.search(re.escape(os.path.join(kernel.tmpdir, "main.go")) + r":\d+ ", stderr), stderr
    shown = shown_html(messages)
    assert CELL_LINE_HTML.findall(shown) == ["5"], stderr + shown[-1500:]
    bad_line = re.search(r'<div class="gonb-err-line">(.*?)\n', shown).group(1)
    assert html.unescape(bad_line) == "fmt.Println(messages[5])"
