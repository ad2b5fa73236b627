"""The core as it was before the fast path, run beside today's on the same data files.

``BASELINE`` is the last commit whose tokeniser, gazetteer matching, pattern sets, date
candidates, keywords and MinHash were the straightforward per-entry Python loops. The
modules those live in are read from that commit (``git show``) into a private package;
everything else the core imports (models, decode, relevance, yamlio) is today's module
itself, so the two enrichments differ only where the fast path could make them differ.
Both load the same data directory, so a change to a rule file applies to both sides.
The word lists the baseline held in code (captions, credits, bylines, abbreviations, name
particles, "not only", legal forms) are data files now: ``give_word_lists`` hands the
baseline modules those of the data directory, so an edit to them applies to both sides
too (all but the month spellings and ordinal suffixes of dates.yaml, which the baseline's
date patterns build in). The table of which event type gives way to which in one sentence
(``_SUPPRESSED_BY``) is taxonomy, not fast path: both sides use today's.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "b50a890be2fd0a58ec8193cb48d2e74ab29a74c3"
# The modules the fast path rewrote; the rest of the core is shared with today's code.
REWRITTEN = (
    "text",
    "entities",
    "events",
    "fingerprint",
    "keywords",
    "parse",
    "dates",
    "language",
    "logic",
)
SHARED = ("models", "decode", "relevance", "yamlio")
_PACKAGE = "wirewatch_baseline_core"
FIXED_CLOCK = datetime(2026, 1, 1, tzinfo=UTC)


class BaselineUnavailable(RuntimeError):
    """The baseline commit cannot be read (no git, or a shallow clone without it)."""


def _git_show(path: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise BaselineUnavailable("git is not installed")
    proc = subprocess.run(  # noqa: S603 - a fixed command on our own repository
        [git, "-C", str(ROOT), "show", f"{BASELINE}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BaselineUnavailable(f"git show {BASELINE[:10]}:{path}: {proc.stderr.strip()}")
    return proc.stdout


def load_baseline() -> types.ModuleType:
    """The baseline ``logic`` module (with its ``Resources`` and ``Enricher``)."""
    if f"{_PACKAGE}.logic" in sys.modules:
        return sys.modules[f"{_PACKAGE}.logic"]
    sources = {name: _git_show(f"services/wirewatch/core/{name}.py") for name in REWRITTEN}
    package = types.ModuleType(_PACKAGE)
    package.__path__ = []
    sys.modules[_PACKAGE] = package
    for name in SHARED:
        sys.modules[f"{_PACKAGE}.{name}"] = importlib.import_module(f"wirewatch.core.{name}")
    # Import in dependency order; each module is compiled from the baseline text.
    for name in (
        "text",
        "parse",
        "dates",
        "entities",
        "events",
        "fingerprint",
        "keywords",
        "language",
        "logic",
    ):
        full = f"{_PACKAGE}.{name}"
        module = types.ModuleType(full)
        module.__package__ = _PACKAGE
        module.__file__ = f"<baseline {BASELINE[:10]}>/{name}.py"
        sys.modules[full] = module
        exec(compile(sources[name], module.__file__, "exec"), module.__dict__)  # noqa: S102
        setattr(package, name, module)
    from wirewatch.core.logic import Resources

    give_word_lists(Resources.load(current_data_dir()))
    return sys.modules[f"{_PACKAGE}.logic"]


def give_word_lists(resources: Any) -> None:
    """Make the baseline modules use the word lists of ``resources`` (today's
    ``Resources``) in place of the lists they held in code."""
    mods = {name: sys.modules[f"{_PACKAGE}.{name}"] for name in REWRITTEN}
    text, cues = resources.text, resources.date_cues
    _replace(mods["text"], "_ABBREV", text.abbreviations)
    for old, new in (
        ("_CREDIT", text.credit),
        ("_CAPTION_START", text.caption_start),
        ("_PHOTO_WORDS", text.photo_words),
        # today's two are matched against the lower-cased line; the baseline matches
        # the line as it is, in any case
        ("_COPYRIGHT", re.compile(text.copyright.pattern, re.IGNORECASE)),
        ("_PHOTO_CREDIT_LINE", re.compile(text.credit_line.pattern, re.IGNORECASE)),
        ("_READ_ALSO", text.read_also),
        ("_BYLINE_LABEL", text.byline_label),
        ("_BYLINE_UPDATED", cues.updated),
        ("_BYLINE_PUBLISHED", cues.published),
    ):
        _replace(mods["parse"], old, new)
    _replace(mods["dates"], "_CREDIT", cues.credit)
    _replace(mods["entities"], "_PARTICLES", resources.gazetteer.particles)
    _replace(mods["entities"], "_AMBIGUOUS_NAMES", resources.gazetteer.ambiguous_names)
    # which event type gives way to which in one sentence is a rule of the taxonomy, not
    # of the fast path: both sides use today's table
    from wirewatch.core import events as today_events

    _replace(mods["events"], "_SUPPRESSED_BY", today_events._SUPPRESSED_BY)
    any_rules = next(iter(resources.rules.values()), None)
    if any_rules is not None:
        _replace(mods["events"], "_NOT_ONLY", any_rules.not_only)
        _replace(mods["events"], "FIRM_RE", any_rules.firm)


def _replace(module: types.ModuleType, name: str, value: object) -> None:
    if not hasattr(module, name):
        raise BaselineUnavailable(f"the baseline {module.__name__} has no {name} to replace")
    setattr(module, name, value)


def current_data_dir() -> Path:
    from wirewatch.core.logic import DATA_DIR

    return DATA_DIR


def comparable(result: Any) -> dict[str, Any]:
    """The whole result as JSON data, without the one field that is the clock."""
    data: dict[str, Any] = result.model_dump(mode="json")
    data.pop("enriched_at", None)
    return data


def without_later_keys(data_dir: Path) -> Path:
    """A copy of ``data_dir`` without what the rule files gained after the baseline (the
    ``suppress`` phrases, tested on their own in tests/data/senses.yaml, and the
    ``spellings``, tested in tests/unit/test_events_engine.py, which the baseline's
    loader refuses, and the ``reaction``, ``deal_specific`` and ``channel`` terms, which
    only today's engine reads); ``data_dir`` itself when it has none."""
    import atexit
    import shutil
    import tempfile

    import yaml

    events = sorted((data_dir / "events").glob("*.yaml"))
    later_terms = ("reaction", "deal_specific", "channel")
    later = ("\nsuppress:", "\nspellings:", *(f"\n  {name}:" for name in later_terms))
    if not any(key in p.read_text("utf-8") for p in events for key in later):
        return data_dir
    copy = Path(tempfile.mkdtemp(prefix="wirewatch-baseline-data-")) / "data"
    atexit.register(shutil.rmtree, copy.parent, True)
    shutil.copytree(data_dir, copy)
    for p in sorted((copy / "events").glob("*.yaml")):
        data = yaml.safe_load(p.read_text("utf-8"))
        dropped = data.pop("suppress", None) is not None
        dropped |= data.pop("spellings", None) is not None
        for name in later_terms:
            dropped |= (data.get("terms") or {}).pop(name, None) is not None
        if dropped:
            p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return copy


def enrichers(data_dir: Path | None = None) -> tuple[Any, Any]:
    """(today's Enricher, the baseline's Enricher), both on ``data_dir`` (the bundled one,
    less what the baseline cannot read: ``without_later_keys``); today's without the
    later filter of weak second event types (``CoreConfig.secondary_below``), the
    later wider anchoring (``CoreConfig.wide_window``), the learned cues
    (``CoreConfig.learned_cues``) and the date stamps (``CoreConfig.date_stamps``)."""
    from wirewatch.core.config import CoreConfig
    from wirewatch.core.logic import Enricher, Resources

    data_dir = without_later_keys(data_dir or current_data_dir())
    base = load_baseline()
    resources = Resources.load(data_dir)
    give_word_lists(resources)
    # The filter of weak second event types, the wider anchoring of articles about
    # technology throughout, the learned cues and the date stamps came after the baseline;
    # off on both sides.
    now = Enricher(
        resources,
        CoreConfig(secondary_below=0.0, wide_window=1, learned_cues=False, date_stamps=False),
        clock=lambda: FIXED_CLOCK,
    )
    old = base.Enricher(base.Resources.load(data_dir), clock=lambda: FIXED_CLOCK)
    return now, old


def differences(
    paths: list[Path], data_dir: Path | None = None, pair: tuple[Any, Any] | None = None
) -> tuple[int, list[str]]:
    """Enrich every file with both cores (``pair``, else ``enrichers(data_dir)``):
    (files compared, a line per differing file naming the fields)."""
    from wirewatch.core.models import Source

    now, old = pair or enrichers(data_dir)
    out: list[str] = []
    for path in paths:
        data = path.read_bytes()
        src = Source(path=str(path))
        a, b = comparable(now.analyse(data, src)), comparable(old.analyse(data, src))
        if a != b:
            keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            out.append(f"{path.name}: {', '.join(keys)}")
    return len(paths), out


def check_same(pair: tuple[Any, Any], paths: list[Path]) -> None:
    """Every file of ``paths`` enriches the same with both cores of ``pair``."""
    compared, differing = differences(paths, pair=pair)
    assert not differing, f"{len(differing)} of {compared} differ:\n" + "\n".join(differing)
