"""``wirewatch evaluate --real DIR``: score the core on real news written by journalists.

DIR is a folder laid out like ``realnews-dev`` (``offtopic/``, ``candidates/``,
``manifest.jsonl``). Hand labels (``tests/data/realnews/labels/*.yaml``, format in
docs/LABELLING.md) give the expected event types, statuses and dates of some of its
articles; only labels and file names live in the project, the text stays in DIR.

Scores, per split of the labels (``dev`` to tune on, ``test`` left alone; a file's
split is fixed by a hash of its name):

* event-type precision/recall/F1 per type and micro-averaged over the set of event
  types per labelled article, and the stricter (type, status) micro-F1;
* the false-alarm rate on ``offtopic/``: articles with any event, per language and
  per source (an article whose label says it really reports an event is not counted);
* publication dates: right, wrong or none, on articles whose date is known (the
  manifest's, else the label's).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from wirewatch.core import yamlio
from wirewatch.core.logic import Enricher, Resources
from wirewatch.core.models import EVENT_TYPES, EnrichedArticle, Source
from wirewatch.tools.evaluate import PRF

DEFAULT_LABELS = Path("tests/data/realnews/labels")
SPLITS = ("dev", "test")


class EvaluationError(ValueError):
    """The folder or the labels cannot be used; the message says which and what to do."""


def split_of(name: str) -> str:
    """``dev`` or ``test``, fixed by the file name (half of the labels each, at random)."""
    return SPLITS[int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16) % 2]


@dataclass
class Label:
    file: str
    events: set[tuple[str, str]]
    date: str | None


def event_pairs(events: object, where: str) -> set[tuple[str, str]]:
    """The (type, status) pairs of a label's ``events`` list (``TYPE/STATUS`` strings)."""
    if events is not None and not isinstance(events, list):
        raise EvaluationError(f"{where}: 'events' must be a list of TYPE/STATUS")
    pairs: set[tuple[str, str]] = set()
    for ev in events or []:
        etype, _, status = str(ev).partition("/")
        if etype not in EVENT_TYPES or status not in ("reported", "proposed", "rejected"):
            raise EvaluationError(f"{where}: bad event {ev!r}")
        pairs.add((etype, status))
    return pairs


def load_labels(directory: Path) -> dict[str, Label]:
    if not directory.is_dir():
        raise EvaluationError(
            f"{directory}: no labels folder; pass --labels DIR (YAML files as in docs/LABELLING.md)"
        )
    labels: dict[str, Label] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yamlio.load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise EvaluationError(f"{path}: expected a list of labels")
        for n, item in enumerate(data):
            where = f"{path}: entry {n}"
            if not isinstance(item, dict) or not item.get("file"):
                raise EvaluationError(f"{where}: no 'file'")
            pairs = event_pairs(item.get("events"), f"{where} ({item['file']})")
            date = item.get("date")
            labels[str(item["file"])] = Label(str(item["file"]), pairs, str(date) if date else None)
    return labels


def load_manifest(root: Path) -> dict[str, dict]:
    path = root / "manifest.jsonl"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["file"]] = rec
    return out


def date_verdict(got: str | None, want: str) -> str:
    """``right`` when one date is a prefix of the other (a month matches its days),
    ``wrong`` when not, ``none`` when nothing was found."""
    if got is None:
        return "none"
    short, long = sorted((got, want), key=len)
    return "right" if long.startswith(short) else "wrong"


@dataclass
class RealReport:
    types: dict[str, dict[str, PRF]] = field(
        default_factory=lambda: {s: {t: PRF() for t in EVENT_TYPES} for s in SPLITS}
    )
    micro: dict[str, PRF] = field(default_factory=lambda: {s: PRF() for s in SPLITS})
    pairs: dict[str, PRF] = field(default_factory=lambda: {s: PRF() for s in SPLITS})
    labelled: Counter = field(default_factory=Counter)
    offtopic: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    offtopic_flagged: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    dates: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out: dict = {"splits": {}}
        for s in SPLITS:
            m = self.micro[s]
            out["splits"][s] = {
                "articles": self.labelled[s],
                "event_type_precision": round(m.precision, 3),
                "event_type_recall": round(m.recall, 3),
                "event_type_f1": round(m.f1, 3),
                "event_type_status_f1": round(self.pairs[s].f1, 3),
                "per_type": {
                    t: {"p": round(v.precision, 3), "r": round(v.recall, 3), "f1": round(v.f1, 3)}
                    for t, v in self.types[s].items()
                },
            }
        # each article is counted once per language and once per source: use one of them
        total = self.offtopic["lang"]["all"]
        flagged = self.offtopic_flagged["lang"]["all"]
        out["offtopic"] = {
            "articles": total,
            "with_event": flagged,
            "rate": round(flagged / total, 4) if total else 0.0,
            "by_language": {
                k: [self.offtopic_flagged["lang"][k], v]
                for k, v in sorted(self.offtopic["lang"].items())
            },
            "by_source": {
                k: [self.offtopic_flagged["source"][k], v]
                for k, v in sorted(self.offtopic["source"].items())
            },
        }
        out["dates"] = {k: dict(v) for k, v in sorted(self.dates.items())}
        return out


def evaluate(
    root: Path, labels: dict[str, Label], enricher: Enricher, split: str | None = None
) -> RealReport:
    manifest = load_manifest(root)
    report = RealReport()
    files = sorted(
        p.relative_to(root).as_posix()
        for folder in ("offtopic", "candidates")
        for p in (root / folder).glob("*.txt")
    )
    if not files:
        raise EvaluationError(
            f"{root}: no articles under offtopic/ or candidates/; pass the realnews-dev folder"
        )
    from wirewatch.cli.output import Progress

    progress = Progress("evaluating", len(files))
    for name in files:
        progress.step()
        label = labels.get(name)
        rec = manifest.get(name, {})
        kind = name.split("/", 1)[0]
        scored = label is not None and (not split or split_of(name) == split)
        if not scored and kind != "offtopic" and not rec.get("date"):
            continue  # an unlabelled candidate without a known date says nothing
        path = root / name
        result = enricher.analyse(path.read_bytes(), Source(path=str(path)))
        if not isinstance(result, EnrichedArticle):
            report.misses.append(f"{name}: rejected: {result.rejected.reason}")
            continue
        got = {(e.type, e.status) for e in result.events}
        if kind == "offtopic" and (label is None or not label.events):
            lang = rec.get("lang") or name.split("/")[-1][:2]
            source = rec.get("source") or name.split("/")[-1].split("_")[1]
            for key, value in (("lang", lang), ("source", source)):
                report.offtopic[key][value] += 1
                report.offtopic[key]["all"] += 1
                if got:
                    report.offtopic_flagged[key][value] += 1
                    report.offtopic_flagged[key]["all"] += 1
            if got:
                report.misses.append(f"{name}: false alarm {sorted(got)}")
        if scored and label is not None:
            s = split_of(name)
            report.labelled[s] += 1
            got_types, want_types = {t for t, _ in got}, {t for t, _ in label.events}
            report.micro[s].add(got_types, want_types)
            report.pairs[s].add(got, label.events)
            for t in EVENT_TYPES:
                report.types[s][t].add(got_types & {t}, want_types & {t})
            if got_types != want_types:
                report.misses.append(
                    f"{name} [{s}]: events +{sorted(got_types - want_types)} "
                    f"-{sorted(want_types - got_types)}"
                )
        want_date = rec.get("date") or (label.date if label else None)
        if want_date:
            source = rec.get("source") or name.split("/")[-1].split("_")[1]
            verdict = date_verdict(result.published, str(want_date))
            report.dates[source][verdict] += 1
            report.dates["all"][verdict] += 1
            if verdict == "wrong":
                report.misses.append(f"{name}: published {result.published} != {want_date}")
    progress.close()
    return report


def render(report: RealReport) -> str:
    d = report.as_dict()
    lines = ["### Real news: event types on hand-labelled articles", ""]
    lines += [
        "| split | articles | precision | recall | event-type F1 | (type, status) F1 |",
        "|---|---|---|---|---|---|",
    ]
    for s in SPLITS:
        x = d["splits"][s]
        lines.append(
            f"| {s} | {x['articles']} | {x['event_type_precision']:.2f} | "
            f"{x['event_type_recall']:.2f} | {x['event_type_f1']:.2f} | "
            f"{x['event_type_status_f1']:.2f} |"
        )
    lines += ["", "| type | " + " | ".join(f"{s} P / R / F1" for s in SPLITS) + " |"]
    lines.append("|---|" + "---|" * len(SPLITS))
    for t in EVENT_TYPES:
        cells = []
        for s in SPLITS:
            v = d["splits"][s]["per_type"][t]
            cells.append(f"{v['p']:.2f} / {v['r']:.2f} / {v['f1']:.2f}")
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    o = d["offtopic"]
    lines += [
        "",
        "### Real news: false alarms on ordinary news (offtopic/)",
        "",
        f"{o['with_event']} of {o['articles']} articles carry an event ({100 * o['rate']:.1f} %).",
        "",
        "| language | with event | articles | rate |",
        "|---|---|---|---|",
    ]
    for k, (f, n) in o["by_language"].items():
        if k != "all":
            lines.append(f"| {k} | {f} | {n} | {100 * f / n:.1f} % |")
    lines += ["", "| source | with event | articles | rate |", "|---|---|---|---|"]
    for k, (f, n) in o["by_source"].items():
        if k != "all":
            lines.append(f"| {k} | {f} | {n} | {100 * f / n:.1f} % |")
    lines += [
        "",
        "### Real news: publication dates (articles with a known date)",
        "",
        "| source | right | wrong | none | wrong rate |",
        "|---|---|---|---|---|",
    ]
    for k, c in d["dates"].items():
        n = sum(c.values())
        lines.append(
            f"| {k} | {c.get('right', 0)} | {c.get('wrong', 0)} | {c.get('none', 0)} | "
            f"{100 * c.get('wrong', 0) / n:.1f} % |"
        )
    return "\n".join(lines) + "\n"


def print_report(args: SimpleNamespace, data: dict, text: str, misses: list[str]) -> int:
    """Print a report as JSON (``--json``) or as text, with ``--misses`` each difference."""
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(text)
        if args.misses:
            print("\n".join(misses))
    return 0


def main(args: SimpleNamespace) -> int:
    root = Path(args.real)
    if not root.is_dir():
        print(
            f"wirewatch: {root}: the real-news folder is absent; nothing to evaluate "
            "(pass the path of realnews-dev)",
            file=sys.stderr,
        )
        return 2
    try:
        labels = load_labels(Path(args.labels) if args.labels else DEFAULT_LABELS)
        report = evaluate(root, labels, Enricher(Resources.load()), args.split)
    except EvaluationError as exc:
        print(f"wirewatch: {exc}", file=sys.stderr)
        return 2
    return print_report(args, report.as_dict(), render(report), report.misses)
