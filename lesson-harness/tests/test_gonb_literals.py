"""A cell whose edit changes only string literals runs at once (kernel-setup/gonb-patches/0004):
GoNB runs the program it built last with the cell's new strings, so the cell's binary stays
the file it was (no compile, no link) and neither `go build` nor goimports runs. Anything else
builds: a literal in a const or a case label, a new function, an edited library, `%env`.
Through a real kernel whose tools are logged (probed.py)."""
import os
import re

from probed import CELL_LINE_HTML, LIB_CELL, LIB_GO, module_kernel, run, write

QUESTION = '''%%
question := "{}" // ✏️
fmt.Println("asked:", question)'''

# Go literals and the text each stands for.
PROMPTS = [
    ('"Answer in `code` blocks: 100% sure, %d %s %%v, tab\\there, é 漢字 🚀"',
     "Answer in `code` blocks: 100% sure, %d %s %%v, tab\there, é 漢字 🚀"),
    ('`raw: "quoted", \\n stays two characters, 50%`', 'raw: "quoted", \\n stays two characters, 50%'),
    ('"\\u00e9\\U0001F680 \\x41\\101 \\"q\\" \\\\"', 'é🚀 AA "q" \\'),
]
PROMPT = '''%%
messages := []string{{
	{},
	"the user's question",
}}
for _, m := range messages {{
	fmt.Print(m, "|")
}}'''

MATCH = '''const greeting = "{}"

%%
switch word := "{}"; word {{
case "{}":
	fmt.Println(greeting, "matched", word)
default:
	fmt.Println(greeting, "other", word)
}}'''

PANIC = '''%%
label := "{}"
fmt.Println(label)
xs := []int{{1}}
fmt.Println(xs[5])'''

kernel = module_kernel("gonb-literals-kernel.log")


def test_a_new_question_runs_the_program_built_last(kernel):
    out, _, _, errors, _ = run(kernel, QUESTION.format("How many stars are in the universe?"))
    assert (out, errors) == ("asked: How many stars are in the universe?\n", []), (out, errors)
    built = kernel.binary()
    for question in ("What is the population of the world?", "How far is the Moon?"):
        out, _, _, errors, ran = run(kernel, QUESTION.format(question))
        assert (out, errors) == (f"asked: {question}\n", []), (out, errors)
        assert ran == [], f"a new question ran {ran}"
        assert kernel.binary() == built, "a new question compiled and linked a new program"


def test_prompts_round_trip_byte_for_byte(kernel):
    run(kernel, PROMPT.format('"You are an AI assistant."'))
    built = kernel.binary()
    for literal, text in PROMPTS:
        out, _, _, errors, ran = run(kernel, PROMPT.format(literal))
        assert (out, errors) == (f"{text}|the user's question|", []), (out, errors)
        assert kernel.binary() == built and "build" not in ran, f"{literal} was built: {ran}"


def test_a_const_or_a_case_label_is_built_and_right(kernel):
    out, _, _, errors, _ = run(kernel, MATCH.format("hi", "a", "a"))
    assert (out, errors) == ("hi matched a\n", []), (out, errors)
    for (greeting, word, label), want, rebuilt in [
            (("hello", "a", "a"), "hello matched a\n", True),   # the const
            (("hello", "a", "b"), "hello other a\n", True),     # the case label
            (("hello", "b", "b"), "hello matched b\n", False),  # a plain literal
    ]:
        built = kernel.binary()
        out, _, _, errors, _ = run(kernel, MATCH.format(greeting, word, label))
        assert (out, errors) == (want, []), (out, errors)
        assert (kernel.binary() != built) == rebuilt, f"{(greeting, word, label)}: rebuilt {not rebuilt}, want {rebuilt}"


def test_a_literal_that_does_not_compile_lifted_is_built_as_written(kernel):
    """A string of a named string type cannot be a string variable: the cell is built as written."""
    cell = 'type role string\n\n%%\nvar r role = "{}"\nfmt.Println("role:", r)'
    for name in ("system", "user"):
        out, _, html, errors, _ = run(kernel, cell.format(name))
        assert (out, errors) == (f"role: {name}\n", []), (out, errors, html[-800:])


def test_a_new_function_and_an_edited_library_are_built(kernel):
    run(kernel, LIB_CELL.format("l1"))
    built = kernel.binary()
    out, _, _, errors, _ = run(kernel, 'func shout(s string) string { return s + "!" }\n\n%%\nfmt.Println(shout("l1"))')
    assert (out, errors) == ("l1!\n", []), (out, errors)
    assert kernel.binary() != built, "a new function was not built"
    run(kernel, LIB_CELL.format("l2"))
    built = kernel.binary()
    write(os.path.join(kernel.lib, "lib.go"), LIB_GO.format(word="five"))
    out, _, _, errors, _ = run(kernel, LIB_CELL.format("l3"))  # the cell's edit is a literal; the library's is not
    assert (out, errors) == ("word: five l3\n", []), (out, errors)
    assert kernel.binary() != built, "the edited library was not built"


def test_a_panic_names_the_cells_line_after_a_literal_edit(kernel):
    run(kernel, PANIC.format("first"))
    built = kernel.binary()
    out, stderr, html, errors, ran = run(kernel, PANIC.format("second"))
    assert out == "second\n" and "index out of range [5]" in stderr, (out, stderr)
    assert kernel.binary() == built and "build" not in ran, "the edit was built"
    assert re.search(re.escape(os.path.join(kernel.tmpdir, "main.go")) + r":\d+ ", stderr), stderr
    assert CELL_LINE_HTML.findall(html) == ["5"], stderr + html[-1500:]


def test_two_cells_and_reset(kernel):
    declare = 'func greet() string {{ return "{}" }}'
    use = '%%\nfmt.Println(greet(), "{}")'
    run(kernel, declare.format("hello"))
    out, _, _, errors, _ = run(kernel, use.format("b1"))
    assert (out, errors) == ("hello b1\n", []), (out, errors)
    built = kernel.binary()
    out, _, _, errors, _ = run(kernel, use.format("b2"))
    assert (out, errors) == ("hello b2\n", []) and kernel.binary() == built, (out, errors)
    run(kernel, declare.format("hi"))  # the other cell: its literal, in a function it declares
    out, _, _, errors, _ = run(kernel, use.format("b2"))
    assert (out, errors) == ("hi b2\n", []), (out, errors)
    run(kernel, "%reset")
    out, _, html, errors, _ = run(kernel, use.format("b3"))
    assert errors and "undefined: greet" in html, (out, html[-800:])
    run(kernel, kernel.require_lib())


def test_env_reaches_a_literal_edit(kernel):
    """Last: %env changes the kernel's GOFLAGS for the rest of the module."""
    cell = 'var tag = "plain"\n\n%%\nfmt.Println("tag:", tag, "{}")'
    out, _, _, errors, _ = run(kernel, cell.format(1))
    assert (out, errors) == ("tag: plain 1\n", []), (out, errors)
    run(kernel, "%env GOFLAGS=-ldflags=-X=main.tag=fromenv")
    out, _, _, errors, _ = run(kernel, cell.format(2))
    assert (out, errors) == ("tag: fromenv 2\n", []), (out, errors)
