"""Tables fit the terminal: text columns give way, ids and dates are never cut; pipes
(no width) get whole cells."""

from wirewatch.cli.main import _table

ROWS = [
    [
        "2020-06-30",
        "eae53ef3e0a13d10",
        "FCC formally labels Huawei, ZTE as national security threats",
    ]
]
HEADERS = ["published", "article", "title"]


def test_a_narrow_terminal_cuts_the_title_not_the_id() -> None:
    lines = _table(ROWS, HEADERS, width=60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert "eae53ef3e0a13d10" in lines[2] and "2020-06-30" in lines[2]
    assert lines[2].endswith("…")


def test_without_a_width_cells_stay_whole_up_to_the_column_cap() -> None:
    out = _table(ROWS, HEADERS, width=10**6)
    assert "national security threats" in out


def test_too_narrow_to_fit_keeps_every_column() -> None:
    lines = _table(ROWS, HEADERS, width=20).splitlines()
    assert len(lines[0].split()) == 3 and "eae53ef3e0a13d10" in lines[2]
