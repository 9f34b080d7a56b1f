"""Every benchmark script starts: `python benchmarks/NAME.py --help` from another folder.

benchmarks/numbers.py (the name issue 9 gives it) would hide the standard library's
numbers module, which numpy imports, from a script in the same folder; each script
leaves its folder off sys.path first. A script that forgets fails here, not on the day
someone measures with it."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py")
                 if "__main__" in p.read_text())


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_starts(script, tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_every_script_is_found():
    assert {"numbers.py", "draw.py", "torch_compare.py", "fashion_photos.py"} <= set(SCRIPTS)
