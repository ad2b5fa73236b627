"""``wirewatch evaluate --web DIR``: score the core on public news web pages.

The pages (technology-policy news, plain technology news and ordinary news in en, de, fr,
nl, sv and da) were collected in rounds and labelled by docs/LABELLING.md by
readers who never ran wirewatch. The project holds only the labels, file names and
addresses (``tests/data/webnews/labels/r<round>-<lang>.yaml``); the text of each page
stays in DIR (``DIR/r<round>/<lang>/<kind>_<n>.txt``), as the pages are not ours to
redistribute.

Splits, fixed by the round and a hash of the file name:

* ``tune``: round 1, the hashed half of round 2 and rounds 3 to 20 - rules and the
  learned cues may be tuned on these (rounds 3 to 20 were each measured on arrival, then
  tuned on; there is no round 15, it became round 18);
* ``held-out``: the other half of round 2, left alone;
* ``fresh``: rounds 21 and later, each measured on arrival and never read for errors.

The report also scores each round on its own (``rounds``).

Scores per split and language: event-type precision/recall/F1 over the articles whose
label reports an event, the (type, status) F1, the share of articles labelled without
an event (plain technology news and ordinary news) that get one, publication dates
(right / wrong / none where the text gives one) and the vendors and operators named.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from wirewatch.core.logic import Enricher, Resources
from wirewatch.core.models import EVENT_TYPES, EnrichedArticle, Source
from wirewatch.core.yamlio import load as load_yaml
from wirewatch.tools.evaluate import PRF
from wirewatch.tools.evaluate_real import EvaluationError, date_verdict, event_pairs, print_report
from wirewatch.tools.evaluate_real import split_of as real_split_of

DEFAULT_LABELS = Path("tests/data/webnews/labels")
SPLITS = ("tune", "held-out", "fresh")
# the first round not yet tuned on; every round before it is tuned on, whole (round 2 is
# halved)
FIRST_FRESH_ROUND = 21


def round_of(file: str) -> str:
    """The round of a labelled file: its first folder (``r1/en/policy_001.txt`` -> ``r1``)."""
    return file.split("/", 1)[0]


def round_number(name: str) -> tuple[int, str]:
    """Sort key of a round's name in numeric order (``r2`` before ``r10``)."""
    digits = name.lstrip("r")
    return (int(digits), "") if digits.isdigit() else (1 << 30, name)


def split_of(name: str) -> str:
    """The split of a labelled file (``r1/en/policy_001.txt``): see the module docstring."""
    number, _ = round_number(round_of(name))
    if number == 2:
        # the real-news halving, on the name inside the round (<lang>/<file>)
        return "tune" if real_split_of(name.split("/", 1)[1]) == "dev" else "held-out"
    return "tune" if number < FIRST_FRESH_ROUND else "fresh"


@dataclass
class WebLabel:
    file: str
    language: str
    events: set[tuple[str, str]]
    date: str | None
    vendors: set[str]


def load_labels(directory: Path) -> list[WebLabel]:
    if not directory.is_dir():
        raise EvaluationError(
            f"{directory}: no labels folder; pass --labels DIR (r<round>-<lang>.yaml files)"
        )
    labels: list[WebLabel] = []
    for path in sorted(directory.glob("r*-*.yaml")):
        entries = load_yaml(path.read_text("utf-8")) or []
        if not isinstance(entries, list):
            raise EvaluationError(f"{path}: expected a list of labels (docs/LABELLING.md)")
        for n, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or not entry.get("file"):
                raise EvaluationError(f"{path}: label {n} has no 'file'; add the file name")
            events = event_pairs(entry.get("events"), f"{path}: {entry['file']}")
            name = str(entry["file"])
            labels.append(
                WebLabel(
                    file=name,
                    language=name.split("/")[1] if name.count("/") >= 2 else "?",
                    events=events,
                    date=str(entry["date"]) if entry.get("date") else None,
                    vendors={str(v).lower() for v in entry.get("vendors") or []},
                )
            )
    if not labels:
        raise EvaluationError(f"{directory}: no r<round>-<lang>.yaml label files")
    return labels


def _prf(prf: PRF) -> dict[str, float | int]:
    return {
        "precision": round(prf.precision, 3),
        "recall": round(prf.recall, 3),
        "f1": round(prf.f1, 3),
        "tp": prf.tp,
        "fp": prf.fp,
        "fn": prf.fn,
    }


@dataclass
class WebReport:
    micro: dict[tuple[str, str], PRF] = field(default_factory=lambda: defaultdict(PRF))
    pairs: dict[str, PRF] = field(default_factory=lambda: defaultdict(PRF))
    rounds: dict[str, PRF] = field(default_factory=lambda: defaultdict(PRF))
    round_articles: Counter = field(default_factory=Counter)
    types: dict[tuple[str, str], PRF] = field(default_factory=lambda: defaultdict(PRF))
    articles: Counter = field(default_factory=Counter)
    quiet: Counter = field(default_factory=Counter)
    quiet_flagged: Counter = field(default_factory=Counter)
    # the same pages by where they were found: ordinary news or plain technology news
    quiet_kind: Counter = field(default_factory=Counter)
    quiet_kind_flagged: Counter = field(default_factory=Counter)
    dates: Counter = field(default_factory=Counter)
    vendors: PRF = field(default_factory=PRF)
    missing: int = 0
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out: dict = {"splits": {}, "missing_files": self.missing}
        for split in SPLITS:
            if not any(s == split for s, _ in self.micro):
                continue
            langs = sorted({lang for s, lang in self.micro if s == split and lang != "all"})
            out["splits"][split] = {
                "articles": self.articles[split],
                "all": _prf(self.micro[(split, "all")]),
                "type_status_f1": round(self.pairs[split].f1, 3),
                "languages": {lang: _prf(self.micro[(split, lang)]) for lang in langs},
                "types": {t: _prf(self.types[(split, t)]) for t in EVENT_TYPES},
            }
        out["rounds"] = {
            name: {"articles": self.round_articles[name], **_prf(self.rounds[name])}
            for name in sorted(self.rounds, key=round_number)
        }
        out["no_event_articles"] = {
            lang: {"flagged": self.quiet_flagged[lang], "articles": n}
            for lang, n in sorted(self.quiet.items())
        }
        out["no_event_by_kind"] = {
            kind: {"flagged": self.quiet_kind_flagged[kind], "articles": n}
            for kind, n in sorted(self.quiet_kind.items())
        }
        out["dates"] = dict(self.dates)
        out["vendors"] = _prf(self.vendors)
        return out


def page_kind(file: str) -> str:
    """Where a page was found, from its file name: ``ordinary`` news, plain ``tech`` news,
    ``policy`` news (``other`` for a name without one of these prefixes)."""
    prefix = Path(file).name.split("_", 1)[0]
    return prefix if prefix in ("ordinary", "tech", "policy") else "other"


def evaluate(root: Path, labels: list[WebLabel], enricher: Enricher) -> WebReport:
    report = WebReport()
    from wirewatch.cli.output import Progress

    progress = Progress("evaluating", len(labels))
    for label in labels:
        progress.step()
        path = root / label.file
        if not path.is_file():
            report.missing += 1
            continue
        result = enricher.analyse(path.read_bytes(), Source(path=str(path)))
        if not isinstance(result, EnrichedArticle):
            report.misses.append(f"{label.file}: rejected: {result.rejected.reason}")
            continue
        got = {(e.type, e.status) for e in result.events}
        got_types, want_types = {t for t, _ in got}, {t for t, _ in label.events}
        if want_types:
            split = split_of(label.file)
            report.articles[split] += 1
            for lang in (label.language, "all"):
                report.micro[(split, lang)].add(got_types, want_types)
            report.pairs[split].add(got, label.events)
            round_name = round_of(label.file)
            report.round_articles[round_name] += 1
            report.rounds[round_name].add(got_types, want_types)
            for t in EVENT_TYPES:
                report.types[(split, t)].add(got_types & {t}, want_types & {t})
        else:
            for lang in (label.language, "all"):
                report.quiet[lang] += 1
                report.quiet_flagged[lang] += bool(got_types)
            kind = page_kind(label.file)
            report.quiet_kind[kind] += 1
            report.quiet_kind_flagged[kind] += bool(got_types)
        if got_types != want_types:
            report.misses.append(
                f"{label.file} [{split_of(label.file)}]: events +{sorted(got_types - want_types)} "
                f"-{sorted(want_types - got_types)}"
            )
        if label.date:
            verdict = date_verdict(result.published, label.date)
            report.dates[verdict] += 1
            if verdict == "wrong":
                report.misses.append(f"{label.file}: published {result.published} != {label.date}")
        named = {v.lower() for v in result.entities.vendors + result.entities.operators}
        report.vendors.add(named, label.vendors)
    progress.close()
    return report


def _row(prf: PRF) -> str:
    return f"{prf.precision:.2f} | {prf.recall:.2f} | {prf.f1:.2f}"


def _by_split(what: str, keys: list[str], table: dict[tuple[str, str], PRF]) -> list[str]:
    """A table with one row per key and one P / R / F1 cell per split."""
    lines = ["", f"| {what} | " + " | ".join(f"{s} P / R / F1" for s in SPLITS) + " |"]
    lines.append("|---|" + "---|" * len(SPLITS))
    for key in keys:
        cells = [
            _row(table[(split, key)]).replace(" | ", " / ") if (split, key) in table else "-"
            for split in SPLITS
        ]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def _rate_rows(what: str, articles: Counter, flagged: Counter) -> list[str]:
    """A table of the pages without an event that get one, a row per key of ``articles``."""
    rows = [f"| {what} | with event | articles | rate |", "|---|---|---|---|"]
    for key, n in sorted(articles.items()):
        rows.append(f"| {key} | {flagged[key]} | {n} | {100 * flagged[key] / n:.1f} % |")
    return rows


def render(report: WebReport) -> str:
    lines = ["### Web news: event types on articles that report an event", ""]
    lines += ["| split | articles | precision | recall | event-type F1 | (type, status) F1 |"]
    lines += ["|---|---|---|---|---|---|"]
    for split in SPLITS:
        if (split, "all") in report.micro:
            lines.append(
                f"| {split} | {report.articles[split]} | {_row(report.micro[(split, 'all')])} "
                f"| {report.pairs[split].f1:.2f} |"
            )
    lines += [
        "",
        "| round | articles | precision | recall | event-type F1 |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(report.rounds, key=round_number):
        lines.append(f"| {name} | {report.round_articles[name]} | {_row(report.rounds[name])} |")
    langs = sorted({lang for _, lang in report.micro if lang != "all"})
    lines += _by_split("language", langs, report.micro)
    lines += _by_split("type", list(EVENT_TYPES), report.types)
    lines += ["", "### Web news: articles labelled without an event that get one", ""]
    lines += _rate_rows("language", report.quiet, report.quiet_flagged)
    lines += [""] + _rate_rows("found among", report.quiet_kind, report.quiet_kind_flagged)
    d = report.dates
    lines += [
        "",
        f"Publication dates where the text gives one: {d['right']} right, {d['wrong']} wrong, "
        f"{d['none']} none. Vendors and operators named: precision "
        f"{report.vendors.precision:.2f}, recall {report.vendors.recall:.2f}.",
    ]
    if report.missing:
        lines.append(f"{report.missing} labelled files are not in the folder and were skipped.")
    return "\n".join(lines)


def main(args: SimpleNamespace) -> int:
    root = Path(args.web)
    if not root.is_dir():
        print(
            f"wirewatch: {root}: the web-news folder is absent; nothing to evaluate "
            "(pass the folder that holds r1/, r2/, r3/)",
            file=sys.stderr,
        )
        return 2
    try:
        labels = load_labels(Path(args.labels) if args.labels else DEFAULT_LABELS)
        report = evaluate(root, labels, Enricher(Resources.load()))
    except EvaluationError as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return 2
    if report.missing == len(labels):
        print(
            f"wirewatch: {root}: none of the labelled pages is there "
            "(expected r<round>/<lang>/<file>.txt)",
            file=sys.stderr,
        )
        return 2
    return print_report(args, report.as_dict(), render(report), report.misses)
