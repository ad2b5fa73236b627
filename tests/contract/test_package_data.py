"""The wheel carries every data file the core reads (a user installs the wheel, not the
checkout): build it and compare its files with the source tree."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "services" / "wirewatch" / "core" / "data"


def test_wheel_holds_every_core_data_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("wirewatch-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        packaged = {
            n.removeprefix("wirewatch/core/data/")
            for n in zf.namelist()
            if n.startswith("wirewatch/core/data/") and not n.endswith("/")
        }
    source = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()}
    assert source, "no data files found in the source tree"
    assert packaged == source, {
        "missing": sorted(source - packaged),
        "extra": sorted(packaged - source),
    }
