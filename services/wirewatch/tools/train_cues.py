"""``wirewatch train-cues``: learn the cues of ``data/learned/<lang>.json`` from labels.

It reads the tuning halves only, so that the other halves stay a fair measure:

* the blind set (``tests/data/blind/<lang>/labels.yaml``): files with an odd number;
* the briefs (``tests/data/briefs/**/*.yaml``): briefs with an odd id;
* the labelled real news (``tests/data/realnews/labels``, text in ``--real DIR``): the
  ``dev`` split (skipped, with a line saying so, when the folder is absent).

Each article is enriched with the learned cues off; the stems of its anchored sentences
(``learned.stems`` and ``learned.sentence_features``: the exact features the core
scores) become its features, its labelled event types the targets. One logistic
regression per addable type is fitted over all languages at once (a feature is a
(language, stem) pair; the bias is shared), with L2 regularisation, by full-batch
gradient descent from zero: the same labels give the same weights. Weights under
``--min-weight`` are left out of the files.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from wirewatch.core import learned
from wirewatch.core.config import CoreConfig
from wirewatch.core.logic import DATA_DIR, Enricher, Resources
from wirewatch.core.models import Source
from wirewatch.core.yamlio import load as load_yaml
from wirewatch.tools import evaluate_web as web_news
from wirewatch.tools.evaluate_real import DEFAULT_LABELS, load_labels, split_of

DEFAULT_BLIND = Path("tests/data/blind")
DEFAULT_BRIEFS = Path("tests/data/briefs")
_NUMBER = re.compile(r"(\d+)\D*$")


class TrainingError(ValueError):
    """The labels cannot be used; the message names the file and what to do."""


@dataclass
class Example:
    name: str
    data: bytes
    types: set[str]


def _tuning(name: str) -> bool:
    """Odd-numbered files and ids are the tuning half."""
    m = _NUMBER.search(name)
    return m is not None and int(m.group(1)) % 2 == 1


def _entries(path: Path, what: str) -> list[dict]:
    entries = load_yaml(path.read_text("utf-8")) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TrainingError(f"{path}: expected a list of {what}")
    return entries


def _types(entry: dict) -> set[str]:
    return {str(e).split("/")[0] for e in entry.get("events") or []}


def examples(
    blind: Path,
    briefs: Path,
    labels: Path,
    real: Path | None,
    web: Path | None = None,
    web_labels: Path | None = None,
) -> Iterator[Example]:
    """The labelled articles of the tuning halves."""
    for path in sorted(blind.glob("*/labels.yaml")):
        for entry in _entries(path, "labels (docs/LABELLING.md)"):
            name = str(entry.get("file", ""))
            if not _tuning(name.removesuffix(".txt")):
                continue
            text = path.parent / name
            if not text.is_file():
                raise TrainingError(
                    f"{path}: {name} is labelled but missing; add it or drop the label"
                )
            yield Example(f"{path.parent.name}/{name}", text.read_bytes(), _types(entry))
    for path in sorted(briefs.rglob("*.yaml")):
        for brief in _entries(path, "briefs with 'id' and 'text'"):
            bid = str(brief.get("id", ""))
            if _tuning(bid):
                yield Example(bid, str(brief.get("text", "")).encode("utf-8"), _types(brief))
    if real is None or not real.is_dir():
        print(f"train-cues: no real-news folder ({real}); its labels are left out", file=sys.stderr)
    else:
        for name, label in load_labels(labels).items():
            if split_of(name) == "dev" and (real / name).is_file():
                yield Example(name, (real / name).read_bytes(), {t for t, _ in label.events})
    if web is None:
        return
    if not web.is_dir():
        print(f"train-cues: no web-news folder ({web}); its labels are left out", file=sys.stderr)
        return
    for page in web_news.load_labels(web_labels or web_news.DEFAULT_LABELS):
        if web_news.split_of(page.file) == "tune" and (web / page.file).is_file():
            yield Example(page.file, (web / page.file).read_bytes(), {t for t, _ in page.events})


def features_of(enricher_res: Resources, items: list[Example]) -> list[tuple[str, set[str]]]:
    """(language, features) of each example: the features of its anchored sentences."""
    seen: list[tuple[str, list[list[str]]]] = []

    def observe(language: str, sentences: list[list[str]]) -> None:
        seen.append((language, sentences))

    enricher = Enricher(enricher_res, CoreConfig(learned_cues=False), observe=observe)
    out: list[tuple[str, set[str]]] = []
    for item in items:
        seen.clear()
        enricher.analyse(item.data, Source(path=item.name))
        if not seen:
            out.append(("", set()))
            continue
        language, sentences = seen[0]
        found: set[str] = set()
        for tokens in sentences:
            found |= learned.sentence_features(learned.stems(tokens, language))
        out.append((language, found))
    return out


def fit(
    rows: list[set[str]],
    targets: dict[str, list[bool]],
    *,
    l2: float,
    iterations: int,
    min_count: int,
) -> tuple[list[str], dict[str, tuple[float, list[float]]]]:
    """Per type: (bias, weights over the vocabulary) of an L2 logistic regression."""
    import numpy as np

    counts = Counter(f for row in rows for f in row)
    vocabulary = sorted(f for f, n in counts.items() if n >= min_count)
    index = {f: i for i, f in enumerate(vocabulary)}
    x = np.zeros((len(rows), len(vocabulary) + 1), dtype=np.float32)
    for r, row in enumerate(rows):
        for f in row:
            j = index.get(f)
            if j is not None:
                x[r, j] = 1.0
        x[r, -1] = 1.0
    n = np.float32(len(rows))
    step = np.float32(5.0)
    decay = np.float32(l2) / n
    result: dict[str, tuple[float, list[float]]] = {}
    for etype, wanted in targets.items():
        y = np.asarray(wanted, dtype=np.float32)
        w = np.zeros(x.shape[1], dtype=np.float32)
        for _ in range(iterations):
            p = (1.0 / (1.0 + np.exp(-(x @ w)))).astype(np.float32)
            grad = (x.T @ (p - y)) / n
            grad[:-1] += decay * w[:-1]
            w -= step * grad
        result[etype] = (float(w[-1]), [float(v) for v in w[:-1]])
    return vocabulary, result


def main(args: SimpleNamespace) -> int:
    out_dir = Path(args.out) if args.out else DATA_DIR / "learned"
    type_thresholds: dict[str, float] = {}
    for spec in args.type_threshold or ():
        etype, _, value = str(spec).partition("=")
        try:
            type_thresholds[etype] = float(value)
        except ValueError:
            print(
                f"wirewatch train-cues: --type-threshold {spec}: expected TYPE=NUMBER",
                file=sys.stderr,
            )
            return 2
        if etype not in learned.ADDABLE or not 0 < type_thresholds[etype] < 1:
            print(
                f"wirewatch train-cues: --type-threshold {spec}: a type of "
                f"{', '.join(learned.ADDABLE)} and a number between 0 and 1",
                file=sys.stderr,
            )
            return 2
    real = Path(args.real) if args.real else None
    for given, default, option in (
        (args.blind, DEFAULT_BLIND, "--blind"),
        (args.briefs, DEFAULT_BRIEFS, "--briefs"),
    ):
        folder = Path(given or default)
        if not folder.is_dir():
            print(
                f"wirewatch train-cues: {folder}: not a directory; run from the repository's "
                f"root or pass {option} DIR",
                file=sys.stderr,
            )
            return 2
    try:
        items = list(
            examples(
                Path(args.blind or DEFAULT_BLIND),
                Path(args.briefs or DEFAULT_BRIEFS),
                Path(args.labels or DEFAULT_LABELS),
                real,
                Path(args.web) if getattr(args, "web", None) else None,
            )
        )
    except (OSError, ValueError) as exc:
        print(f"wirewatch train-cues: {exc}", file=sys.stderr)
        return 2
    if not items:
        print("wirewatch train-cues: no labelled tuning examples found", file=sys.stderr)
        return 2
    res = Resources.load()
    feats = features_of(res, items)
    rows = [{f"{lang}:{f}" for f in found} for lang, found in feats]
    targets = {t: [t in item.types for item in items] for t in learned.ADDABLE}
    vocabulary, models = fit(
        rows, targets, l2=args.l2, iterations=args.iterations, min_count=args.min_count
    )
    with_event = Counter(lang for (lang, _), item in zip(feats, items, strict=True) if item.types)
    languages = sorted(
        lang for lang in learned.STEMMER_NAMES if with_event[lang] >= args.min_examples
    )
    for lang in sorted(set(learned.STEMMER_NAMES) - set(languages)):
        print(
            f"{lang}: {with_event[lang]} tuning examples with an event, under "
            f"--min-examples {args.min_examples}: no file"
        )
        (out_dir / f"{lang}.json").unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        prefix = f"{lang}:"
        types: dict[str, dict[str, object]] = {}
        n_weights = 0
        for etype, (bias, weights) in models.items():
            kept = {
                f.removeprefix(prefix): round(w, 3)
                for f, w in zip(vocabulary, weights, strict=True)
                if f.startswith(prefix) and abs(w) >= args.min_weight
            }
            ordered = dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0])))
            types[etype] = {"bias": round(bias, 3), "weights": ordered}
            if etype in type_thresholds:
                types[etype] = {"threshold": type_thresholds[etype], **types[etype]}
            n_weights += len(ordered)
        doc = {
            "language": lang,
            "threshold": args.threshold,
            "trained_on": (
                f"{sum(1 for la, _ in feats if la == lang)} labelled {lang} articles and briefs "
                "of the tuning halves (wirewatch train-cues)"
            ),
            "types": types,
        }
        path = out_dir / f"{lang}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{path}: {n_weights} weights")
    per_type = {t: sum(v) for t, v in targets.items()}
    print(f"trained on {len(items)} examples; positives per type: {per_type}")
    return 0
