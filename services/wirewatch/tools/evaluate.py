"""``wirewatch evaluate``: compare the core's output with a hand-annotated gold file.

The gold file is a YAML list of ``{file, language, published, entities{...},
events[{type, status}], near_duplicate_of}`` (see examples/expected.yaml). Scores:

* language and publication-date accuracy (exact match, precision included);
* entity precision/recall/F1 per kind and micro-averaged over all kinds;
* event-type micro-F1 over the set of event types per article, and the stricter
  (type, status) micro-F1;
* near-duplicate accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from wirewatch.core import yamlio
from wirewatch.core.logic import (
    Enricher,
    MemoryDuplicateIndex,
    Resources,
)
from wirewatch.core.models import EnrichedArticle, Source

KINDS = ("vendors", "operators", "countries", "organisations", "people")


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: Iterable, gold: Iterable) -> None:
        p, g = set(predicted), set(gold)
        self.tp += len(p & g)
        self.fp += len(p - g)
        self.fn += len(g - p)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    articles: int = 0
    language_ok: int = 0
    date_ok: int = 0
    duplicate_ok: int = 0
    entities: dict[str, PRF] = field(default_factory=lambda: {k: PRF() for k in KINDS})
    entities_all: PRF = field(default_factory=PRF)
    event_types: PRF = field(default_factory=PRF)
    event_pairs: PRF = field(default_factory=PRF)
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "articles": self.articles,
            "language_accuracy": self.language_ok / max(self.articles, 1),
            "date_accuracy": self.date_ok / max(self.articles, 1),
            "duplicate_accuracy": self.duplicate_ok / max(self.articles, 1),
            "entity_f1": self.entities_all.f1,
            "entity_f1_by_kind": {k: v.f1 for k, v in self.entities.items()},
            "event_type_f1": self.event_types.f1,
            "event_type_status_f1": self.event_pairs.f1,
        }


def evaluate(gold_path: Path, directory: Path, enricher: Enricher) -> Report:
    gold = yamlio.load(gold_path.read_text(encoding="utf-8"))
    report = Report()
    index = MemoryDuplicateIndex()
    ids: dict[str, str] = {}
    items = gold if isinstance(gold, list) else []
    from wirewatch.cli.output import Progress

    with Progress("evaluating", len(items)) as progress:
        for item in sorted(items, key=lambda g: g["file"]):
            progress.step()
            path = directory / item["file"]
            result = enricher.enrich(path.read_bytes(), Source(path=str(path)), index)
            report.articles += 1
            if not isinstance(result, EnrichedArticle):
                report.misses.append(f"{item['file']}: rejected: {result.rejected.reason}")
                continue
            ids[result.id] = item["file"]
            name = item["file"]
            if result.language == item["language"]:
                report.language_ok += 1
            else:
                report.misses.append(f"{name}: language {result.language} != {item['language']}")
            want_date = item.get("published")
            if result.published == (str(want_date) if want_date else None):
                report.date_ok += 1
            else:
                report.misses.append(f"{name}: published {result.published} != {want_date}")
            got_dup = ids.get(result.near_duplicate_of) if result.near_duplicate_of else None
            if got_dup == item.get("near_duplicate_of"):
                report.duplicate_ok += 1
            else:
                report.misses.append(
                    f"{name}: near_duplicate_of {got_dup} != {item.get('near_duplicate_of')}"
                )
            ents = result.entities.model_dump()
            for kind in KINDS:
                want = set((item.get("entities") or {}).get(kind) or [])
                got = set(ents[kind])
                report.entities[kind].add(got, want)
                report.entities_all.add({(kind, v) for v in got}, {(kind, v) for v in want})
                if got != want:
                    extra, missing = sorted(got - want), sorted(want - got)
                    report.misses.append(f"{name}: {kind} +{extra} -{missing}")
            want_events = {(e["type"], e["status"]) for e in item.get("events") or []}
            got_events = {(e.type, e.status) for e in result.events}
            report.event_types.add({t for t, _ in got_events}, {t for t, _ in want_events})
            report.event_pairs.add(got_events, want_events)
            if got_events != want_events:
                report.misses.append(
                    f"{name}: events +{sorted(got_events - want_events)} -{sorted(want_events - got_events)}"
                )
    return report


def render(report: Report, title: str) -> str:
    d = report.as_dict()
    lines = [
        f"### {title}",
        "",
        "| articles | language | date | near-dup | entity F1 | event-type F1 | (type, status) F1 |",
        "|---|---|---|---|---|---|---|",
        f"| {d['articles']} | {d['language_accuracy']:.2f} | {d['date_accuracy']:.2f} | "
        f"{d['duplicate_accuracy']:.2f} | {d['entity_f1']:.2f} | {d['event_type_f1']:.2f} | "
        f"{d['event_type_status_f1']:.2f} |",
        "",
        "Entity F1 by kind: "
        + ", ".join(f"{k} {v:.2f}" for k, v in d["entity_f1_by_kind"].items()),
        "",
    ]
    return "\n".join(lines)


def main(args: SimpleNamespace) -> int:
    enricher = Enricher(Resources.load())
    directory = args.dir
    if directory is None:
        directory = (
            args.gold.parent / "inbox"
            if (args.gold.parent / "inbox").is_dir()
            else args.gold.parent
        )
    if not args.gold.is_file():
        raise SystemExit(
            f"wirewatch evaluate: {args.gold}: no gold file there; pass a YAML file such as "
            "examples/expected.yaml (or --real DIR for labelled real news)"
        )
    try:
        report = evaluate(args.gold, directory, enricher)
    except OSError as exc:
        raise SystemExit(
            f"wirewatch evaluate: {exc.filename}: cannot read it ({exc.strerror}); the gold file "
            f"lists articles that must be in {directory} (or pass --dir)"
        ) from None
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(render(report, str(args.gold)))
        if args.misses:
            print("\n".join(report.misses))
    return 0
