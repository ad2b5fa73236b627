"""``wirewatch bench scale`` at tiny sizes: the section of BENCHMARKS.md between its
markers, a row per size, the targets, and the two PNG plots next to the file."""

from __future__ import annotations

import pytest

from tests.conftest import REALNEWS, ww

pytestmark = pytest.mark.skipif(
    not (REALNEWS / "offtopic").is_dir(),
    reason=f"the real-news folder is not at {REALNEWS} (set WIREWATCH_REALNEWS)",
)


def _every_fifth(tmp_path):
    """A fifth of the real news (links, same layout): a pool big enough to compose from,
    enriched in a fifth of the time."""
    real = tmp_path / "real"
    for folder in ("offtopic", "candidates"):
        (real / folder).mkdir(parents=True)
        for p in sorted((REALNEWS / folder).glob("*.txt"))[::5]:
            (real / folder / p.name).symlink_to(p.resolve())
    return real


def test_bench_scale_writes_its_section_and_plots(tmp_path):
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\nearlier text stays\n", encoding="utf-8")
    args = ["bench", "scale", "--sizes", "200,400", "--batch", "100", "--max", "800"]
    real = _every_fifth(tmp_path)
    out = ww(*args, "--real", str(real), "--seed", "5", "--write", cwd=tmp_path, timeout=180)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nearlier text stays\n")
    section = text.split("<!-- bench-scale:start -->\n", 1)[1].split("<!-- bench-scale:end -->")[0]
    assert section.startswith("## Scale of the embedded store (`wirewatch bench scale`)")
    rows = [line for line in section.splitlines() if line[2:3].isdigit()]
    assert [r.split(" | ")[0] for r in rows] == ["| 200", "| 400", "| 800"]
    # throughput at the sizes of --sizes, search and size only at the step to --max
    assert rows[2].split(" | ")[1:3] == ["-", "-"]
    assert all(float(r.split(" | ")[1]) > 0 for r in rows[:2])
    assert "Of 200 composed texts, 0 pair(s) are near-duplicates" in section
    assert "Targets:" in section and "database / text" in section
    for name in ("scale-throughput.png", "scale-search.png"):
        assert f"](docs/bench/{name})" in section
        png = tmp_path / "docs" / "bench" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert section.strip() in out.stdout


def test_bench_scale_refuses_bad_sizes(tmp_path):
    got = ww("bench", "scale", "--sizes", "ten", cwd=tmp_path, check=False)
    assert got.returncode == 2
    assert "--sizes" in got.stderr and "positive whole numbers" in got.stderr
    assert not (tmp_path / "BENCHMARKS.md").exists()
