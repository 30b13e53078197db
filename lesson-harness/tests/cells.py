"""Each code cell of a lesson carries one tag that names it (cell metadata "tags", which
JupyterLab shows in its property inspector and students need never see). The tests find
cells by these names, never by their text: a teacher may reword a cell freely."""
import json


def code_cells(nb):
    """{name: (index, source)} of the notebook's code cells; nb is a path or a loaded notebook.
    Fails when a code cell has no name, or two cells share one."""
    if isinstance(nb, str):
        with open(nb, encoding="utf-8") as f:
            nb = json.load(f)
    named = {}
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "code":
            continue
        tags = c.get("metadata", {}).get("tags", [])
        source = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        assert len(tags) == 1, f"code cell {i} has tags {tags}, want one naming it: {source[:60]!r}"
        assert tags[0] not in named, f"cells {named[tags[0]][0]} and {i} are both named {tags[0]!r}"
        named[tags[0]] = (i, source)
    return named


def named(nb, name):
    """(index among all the notebook's cells, source) of the code cell named name."""
    cells = code_cells(nb)
    assert name in cells, f"no code cell named {name!r}; the notebook names {sorted(cells)}"
    return cells[name]
