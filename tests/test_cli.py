"""The command group's handling of what goes wrong around every command."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import invoke

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def test_a_reader_that_leaves_early_gets_a_quiet_exit(tmp_path):
    """`mnistnn classify ... | head -1`: once the reader is gone, mnistnn stops quietly
    (exit 141, as a shell reports SIGPIPE), without a traceback or a Python warning."""
    read, write = os.pipe()
    os.close(read)                                   # the reader left before the first line
    env = {**os.environ, "MNISTNN_WEIGHTS_DIR": str(tmp_path)}     # empty: the shipped model
    done = subprocess.run([sys.executable, "-m", "mnistnn", "classify", str(SAMPLES)],
                          stdout=write, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=120)
    os.close(write)
    assert done.returncode == 141, done.stderr
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines()
                                        if line.startswith("Using the model that ships")]


@pytest.mark.parametrize("command", ["download", "train", "test", "imagine", "classify", "draw"])
def test_every_commands_help_shows_and_whole_numbers_read_as_n(command):
    """--help of each command (a whole-number option's metavar once broke train's), and
    a whole number shown as N, refused in plain words."""
    result = invoke(command, "--help")
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "INTEGER RANGE" not in result.stdout and "WHOLE NUMBER" not in result.stdout
    if command == "train":
        assert "--epochs N" in result.stdout
        refused = invoke("train", "--epochs", "1e20")
        assert refused.exit_code == 2 and "'1e20' is not a valid whole number" in refused.stderr
