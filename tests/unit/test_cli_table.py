"""Tables fit the terminal: text columns wrap, ids and dates are never cut; pipes (no
width) get every cell whole on its row's line; no colours or styles, ever."""

from wirewatch.cli.output import render_table

TITLE = "FCC formally labels Huawei, ZTE as national security threats"
ROWS = [["2020-06-30", "eae53ef3e0a13d10", TITLE]]
HEADERS = ["published", "article", "title"]


def test_a_narrow_terminal_wraps_the_title_not_the_id() -> None:
    lines = render_table(ROWS, HEADERS, width=60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[2].split()[:2] == ["2020-06-30", "eae53ef3e0a13d10"]
    assert TITLE not in lines[2]
    assert " ".join(" ".join(line.split()) for line in lines[2:]).endswith(TITLE)


def test_without_a_width_cells_stay_whole() -> None:
    lines = render_table(ROWS * 2, HEADERS).splitlines()
    assert lines[0].split() == HEADERS and set(lines[1]) == {"-", " "}
    assert len(lines) == 4 and all(TITLE in line for line in lines[2:])


def test_too_narrow_to_fit_keeps_every_column_and_whole_ids() -> None:
    lines = render_table(ROWS, HEADERS, width=20).splitlines()
    assert lines[0].split() == HEADERS and "eae53ef3e0a13d10" in lines[2]


def test_cells_are_text_not_markup_and_carry_no_escape_codes() -> None:
    out = render_table([["-", "x", "[bold]Huawei[/bold] \x1b"]], HEADERS, width=200)
    assert "[bold]Huawei[/bold]" in out and "\x1b[" not in out


def test_a_cell_of_two_lines_puts_the_second_under_its_column() -> None:
    lines = render_table([["2020", "id1", "title\nsnippet"]], HEADERS).splitlines()
    assert lines[2].split() == ["2020", "id1", "title"]
    assert lines[3].strip() == "snippet" and lines[3].index("snippet") == lines[2].index("title")
