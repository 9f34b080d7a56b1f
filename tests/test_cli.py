"""The command group's handling of what goes wrong around every command."""
import os
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def test_a_reader_that_leaves_early_gets_a_quiet_exit(tmp_path):
    """`mnistnn classify ... | head -1`: once the reader is gone, mnistnn stops quietly
    (exit 141, as a shell reports SIGPIPE), without a traceback or a Python warning."""
    read, write = os.pipe()
    os.close(read)                                   # the reader left before the first line
    env = {**os.environ, "MNISTNN_WEIGHTS_DIR": str(tmp_path / "none")}
    done = subprocess.run([sys.executable, "-m", "mnistnn", "classify", str(SAMPLES)],
                          stdout=write, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=120)
    os.close(write)
    assert done.returncode == 141, done.stderr
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines()
                                        if line.startswith("Using the model that ships")]
