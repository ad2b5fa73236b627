"""The wheel carries every data file the core reads (a user installs the wheel, not the
checkout): build it and compare its files with the source tree."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "services" / "wirewatch" / "core" / "data"
UI = ROOT / "services" / "wirewatch" / "ui"


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("wirewatch-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def _packaged(names: list[str], prefix: str) -> set[str]:
    return {n.removeprefix(prefix) for n in names if n.startswith(prefix) and not n.endswith("/")}


def test_wheel_holds_every_core_data_file(wheel_names: list[str]) -> None:
    packaged = _packaged(wheel_names, "wirewatch/core/data/")
    source = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()}
    assert source, "no data files found in the source tree"
    assert packaged == source, {
        "missing": sorted(source - packaged),
        "extra": sorted(packaged - source),
    }


def test_wheel_holds_the_web_ui_templates_and_static_files(wheel_names: list[str]) -> None:
    packaged = {
        n
        for n in _packaged(wheel_names, "wirewatch/ui/")
        if n.startswith(("templates/", "static/"))
    }
    source = {
        p.relative_to(UI).as_posix()
        for d in ("templates", "static")
        for p in (UI / d).rglob("*")
        if p.is_file()
    }
    assert {"templates/base.html", "static/htmx.min.js", "static/style.css"} <= source
    assert packaged == source, {
        "missing": sorted(source - packaged),
        "extra": sorted(packaged - source),
    }
