"""The core holds no language word lists: they are data files (core/data/, FORMATS.md).

Two shapes give a word list away in code: a regular expression that alternates three or
more words ("Foto|Photo|Bild"), and a literal set, list or tuple of five or more words.
What the core may keep is listed below with the reason; anything else of those shapes
is language knowledge a reviewer of that language cannot see, and belongs in text.yaml,
dates.yaml, the gazetteers or the rule files.
"""

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.contract

CORE = Path(__file__).resolve().parents[2] / "services" / "wirewatch" / "core"
# three or more alternatives of letters (words may hold spaces: "Lees ook|Read more|...")
_WORD = r"[^\W\d_]{2,}(?: [^\W\d_]+)*"
ALTERNATION = re.compile(rf"(?<![\w\\]){_WORD}(?:\|{_WORD}){{2,}}(?!\w)")
MIN_LIST = 5

# (file, first word) -> why it is not a language word list
ALLOWED = {
    ("parse.py", "gmt"): "time-zone abbreviations of a clock time: notation, the same in "
    "every language (structural, like the digits around them)",
    ("yamlio.py", "true"): "YAML's own boolean spellings",
    ("dates.py", "en"): "language codes the date finder supports",
    ("logic.py", "nl"): "language codes the project supports",
    ("logic.py", "EZ"): "region codes Babel lists that are not countries",
    ("entities.py", "vendors"): "entity kinds: field names of the output",
    ("events.py", "target"): "names of the built-in terms of the rule files",
    ("events.py", "language"): "the top-level keys of a rule file: its format",
    ("models.py", "ban"): "event types: values of the output",
}


def _docstrings(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def word_lists(path: Path) -> list[tuple[int, str, str]]:
    """(line, first word, what) of each alternation or literal collection of words."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            for m in ALTERNATION.finditer(node.value):
                found.append((node.lineno, m.group().split("|")[0], m.group()))
        if isinstance(node, ast.Set | ast.List | ast.Tuple) and len(node.elts) >= MIN_LIST:
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(values) == len(node.elts) and all(
                isinstance(v, str) and re.fullmatch(r"[^\W\d_]+", v) for v in values
            ):
                found.append((node.lineno, str(values[0]), ", ".join(map(str, values))))
    return found


def test_core_modules_hold_no_word_lists() -> None:
    offending = []
    used = set()
    for path in sorted(CORE.glob("*.py")):
        for line, first, what in word_lists(path):
            if (path.name, first) in ALLOWED:
                used.add((path.name, first))
                continue
            offending.append(f"{path.name}:{line}: {what[:100]}")
    assert not offending, "word lists in code (move them to core/data/):\n" + "\n".join(offending)
    assert used == set(ALLOWED), f"allowed but no longer there: {sorted(set(ALLOWED) - used)}"


def test_the_check_finds_a_word_list(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'import re\n_R = re.compile(r"^(?:Lees ook|Read more|Läs också)\\b")\n'
        '_S = frozenset({"mr", "mrs", "dr", "prof", "bzw"})\n'
        '_T = re.compile(r"\\d+(?:st|nd)")\n'
    )
    assert [(line, first) for line, first, _ in word_lists(sample)] == [(2, "Lees ook"), (3, "mr")]
