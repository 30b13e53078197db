"""The patched GoNB (kernel-setup/gonb-patches) builds only what changed, and stays correct.
Through a real kernel whose `go` is bench/probe's logging wrapper, so each test sees whether
`go build` ran (probed.py): an unchanged re-run runs no `go build` (0001); an edited cell whose
imports did not change is compiled and linked without the go command (0002), and without
goimports when only its identifiers are unchanged (0003); a file of the library's module that
no import reaches is not read (0006); a new import of a package the program already links
takes that path too (0007); another new import, an edit of a library taken from a local
directory (go.mod `replace`), `%goflags` and `%reset` all reach the program, and errors still
name the cell's line. test_gonb_literals.py tests edits of string literals (0004)."""
import os
import re
import subprocess

from probed import CELL_LINE_HTML, LIB_CELL, LIB_GO, module_kernel, run, write

CELL = LIB_CELL.replace("{}", "{tag}")
kernel = module_kernel("gonb-builds-kernel.log")


def test_unchanged_rerun_runs_no_go_build(kernel):
    out, _, _, errors, go = run(kernel, CELL.format(tag="a"))
    assert (out, errors) == ("word: one a\n", []), (out, errors)
    out, _, _, errors, go = run(kernel, CELL.format(tag="a"))
    assert (out, errors) == ("word: one a\n", []), (out, errors)
    assert "build" not in go, f"an unchanged re-run ran `go {go}`"


def test_edited_library_is_picked_up_by_an_unchanged_cell(kernel):
    run(kernel, CELL.format(tag="b"))
    write(os.path.join(kernel.lib, "lib.go"), LIB_GO.format(word="two"))
    out, _, _, errors, go = run(kernel, CELL.format(tag="b"))
    assert (out, errors) == ("word: two b\n", []), (out, errors)
    # A new file in the library's package is an edit too.
    write(os.path.join(kernel.lib, "more.go"), 'package lib\n\n// More is new.\nfunc More() string { return "more" }\n')
    out, _, _, errors, _ = run(kernel, 'import "example.com/lib"\n\n%%\nfmt.Println(lib.More())')
    assert (out, errors) == ("more\n", []), (out, errors)


def test_a_folder_the_program_does_not_import_is_not_read(kernel):
    """0006: only the packages the program imports are fingerprinted, not the whole module."""
    first, _, _, _, _ = run(kernel, CELL.format(tag="u"))
    built = kernel.binary()
    os.makedirs(os.path.join(kernel.lib, "unused"), exist_ok=True)
    write(os.path.join(kernel.lib, "unused", "unused.go"), "package unused\n")
    out, _, _, errors, go = run(kernel, CELL.format(tag="u"))
    assert (out, errors) == (first, []) and first.endswith(" u\n"), (first, out, errors)
    assert "build" not in go and kernel.binary() == built, f"a file no import reaches was built: go {go}"


def test_edited_library_is_picked_up_by_an_edited_cell(kernel):
    run(kernel, CELL.format(tag="d1"))
    write(os.path.join(kernel.lib, "lib.go"), LIB_GO.format(word="three"))
    out, _, _, errors, go = run(kernel, CELL.format(tag="d2"))  # same imports, but the library changed
    assert (out, errors) == ("word: three d2\n", []), (out, errors)
    assert "build" in go, f"the library changed, yet `go build` did not run: go {go}"


def test_edited_cell_with_the_same_imports_runs_no_go_build(kernel):
    run(kernel, '%%\nfmt.Println("take", 1)')
    out, _, _, errors, go = run(kernel, '%%\nfmt.Println("take", 2)\nfmt.Println("and more")')
    assert (out, errors) == ("take 2\nand more\n", []), (out, errors)
    assert "build" not in go, f"an edit with the same imports ran `go {go}`"


def test_new_import_goes_through_the_full_build(kernel):
    """A package the program did not link yet (container/ring) needs the go command."""
    # In the build cache first, compiled as the kernel compiles: a build that compiles a
    # package records no fast path (0002).
    subprocess.run(["go", "build", "container/ring"], env=dict(os.environ, **kernel.probe.env), check=True)
    run(kernel, '%%\nfmt.Println("take", 3)')
    out, _, _, errors, go = run(kernel, '%%\nfmt.Println(ring.New(4).Len(), "take 4")')
    assert (out, errors) == ("4 take 4\n", []), (out, errors)
    assert "build" in go, f"a new import did not run `go build`: go {go}"
    out, _, _, errors, go = run(kernel, '%%\nfmt.Println(ring.New(5).Len(), "take 5")')
    assert (out, errors) == ("5 take 5\n", []), (out, errors)
    assert "build" not in go, f"the next edit ran `go {go}`"


def test_new_import_of_a_package_already_linked_takes_the_fast_path(kernel):
    """0007: exercise 3 adds a time.Sleep to a program that links package time already."""
    run(kernel, '%%\nfmt.Println("take", 30)')
    built = kernel.binary()
    out, _, _, errors, go = run(kernel, '%%\nfmt.Println("take", 31)\ntime.Sleep(time.Microsecond)\nfmt.Println(time.Duration(0))')
    assert (out, errors) == ("take 31\n0s\n", []), (out, errors)
    assert "build" not in go and kernel.binary() != built, f"the new import ran `go {go}`"


def test_errors_name_the_cell_line_on_the_fast_path(kernel):
    run(kernel, '%%\nfmt.Println("take", 6)')
    out, _, html, errors, _ = run(kernel, '%%\nfmt.Println("take", 7)\nfmt.Println("more")\nvar n int = "not a number"\nfmt.Println(n)')
    assert errors, "the cell should fail to compile"
    assert CELL_LINE_HTML.findall(html) == ["4"], html[-1500:]
    out, stderr, html, errors, go = run(kernel, '%%\nfmt.Println("take", 8)\nxs := []int{1}\nfmt.Println("x")\nfmt.Println(xs[5])')
    assert "build" not in go, f"the panicking edit ran `go {go}`"
    assert "index out of range [5]" in stderr, stderr
    assert re.search(re.escape(os.path.join(kernel.tmpdir, "main.go")) + r":\d+ ", stderr), stderr
    assert CELL_LINE_HTML.findall(html) == ["5"], stderr + html[-1500:]


def test_edit_of_literals_only_runs_no_goimports(kernel):
    run(kernel, '%%\nfmt.Println("take", 9)')
    out, _, _, errors, go = run(kernel, '%%\nfmt.Println("take", 10)')
    assert (out, errors) == ("take 10\n", []), (out, errors)
    assert "goimports" not in go and "build" not in go, f"an edit of a literal ran {go}"
    # A new identifier (a new package used) runs goimports again.
    out, _, _, errors, go = run(kernel, '%%\nfmt.Println("take", 11, strconv.Itoa(12))')
    assert (out, errors) == ("take 11 12\n", []), (out, errors)
    assert "goimports" in go, f"a new identifier did not run goimports: {go}"


def test_the_run_after_goimports_ran_is_not_built_again(kernel):
    """0003: whether goimports ran or was skipped, GoNB writes the same main.go, with a blank
    variable an earlier cell declared (as the lesson's import cell once did)."""
    run(kernel, "var _ = strings.ToUpper")
    cell = '%%\nfmt.Println("blank", strconv.Itoa(1)) // new identifiers: goimports runs'
    out, _, _, errors, go = run(kernel, cell)
    assert (out, errors) == ("blank 1\n", []) and "goimports" in go, (out, errors, go)
    built = kernel.binary()
    out, _, _, errors, go = run(kernel, cell)
    assert (out, errors) == ("blank 1\n", []), (out, errors)
    assert "build" not in go and kernel.binary() == built, f"the identical run was built again: {go}"


def test_goflags_reach_an_unchanged_cell(kernel):
    cell = 'var tag = "plain"\n\n%%\nfmt.Println("tag:", tag)'
    out, _, _, _, _ = run(kernel, cell)
    assert out == "tag: plain\n", out
    run(kernel, "%goflags -ldflags=-X=main.tag=flagged")
    try:
        out, _, _, errors, go = run(kernel, cell)
        assert (out, errors) == ("tag: flagged\n", []), (out, errors)
    finally:
        run(kernel, '%goflags ""')
    out, _, _, _, _ = run(kernel, cell)
    assert out == "tag: plain\n", out


def test_reset_forgets_declarations_and_go_mod(kernel):
    replace = kernel.require_lib()
    write(os.path.join(kernel.lib, "lib.go"), LIB_GO.format(word="two"))
    lib_cell = CELL.format(tag="c")
    run(kernel, "%reset")
    run(kernel, replace)
    out, _, _, errors, _ = run(kernel, lib_cell)
    assert (out, errors) == ("word: two c\n", []), (out, errors)
    # %reset also makes a new go.mod: the library's replace is gone, so the same cell (the same
    # main.go: no declarations before or after) no longer builds.
    run(kernel, "%reset")
    out, _, html, errors, _ = run(kernel, lib_cell)
    assert errors and "example.com/lib" in html, (out, html[-800:])
    run(kernel, replace)
    out, _, _, errors, _ = run(kernel, lib_cell)
    assert (out, errors) == ("word: two c\n", []), (out, errors)
    out, _, _, errors, _ = run(kernel, 'func greet() string { return "hello" }\n\n%%\nfmt.Println(greet())')
    assert (out, errors) == ("hello\n", []), (out, errors)
    run(kernel, "%reset")
    out, _, html, errors, _ = run(kernel, "%%\nfmt.Println(greet())")
    assert errors and "undefined: greet" in html, (out, html[-800:])
    run(kernel, replace)
