"""Blended load: distinct articles of one language, none a near-duplicate of another."""

from __future__ import annotations

from wirewatch.core.fingerprint import minhash, similarity
from wirewatch.tools import loadgen


def _article(lang: str, n: int) -> tuple[str, str]:
    # words of their own in every sentence, as real articles mostly have
    sentences = " ".join(
        f"Topic{n}x{k} meets item{n}y{k} near place{n}z{k} with actor{n}w{k}." for k in range(12)
    )
    return f"{lang}_test_{n:03d}.txt", f"Title of story {n} in {lang}\n{sentences}"


def test_units_split_a_one_line_text_into_title_and_sentences() -> None:
    title, parts = loadgen.units("First sentence here. Second one. Third one!")
    assert title == "First sentence here."
    assert parts == ["Second one.", "Third one!"]


def test_units_keep_paragraphs_when_there_are_enough() -> None:
    text = "Title\n\n" + "\n\n".join(f"Paragraph {k}. More." for k in range(6))
    title, parts = loadgen.units(text)
    assert title == "Title" and len(parts) == 6


def test_blends_are_distinct_same_language_and_not_near_duplicates() -> None:
    sources = [_article("nl", n) for n in range(10)] + [_article("sv", n) for n in range(10, 20)]
    made = list(loadgen.blends(sources, 60))
    assert len({name for name, _ in made}) == len({text for _, text in made}) == 60
    for name, text in made:
        lang = name.split("_")[2]
        stories = {int(w[5:].split("x")[0]) for w in text.lower().split() if w.startswith("topic")}
        # every piece comes from an article of the blend's own language
        assert stories and all((s < 10) == (lang == "nl") for s in stories), (name, stories)
    signatures = [minhash(text.lower().split()) for _, text in made]
    worst = max(similarity(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1 :])
    assert worst < 0.5  # the near-duplicate threshold


def test_no_sources_no_blends() -> None:
    assert list(loadgen.blends([], 5)) == []
