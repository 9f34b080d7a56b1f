"""The errors mnistnn raises for things a user can fix (bad files, no network, ...).

The CLI turns every MnistnnError into one sentence and exit status 1.
"""


class MnistnnError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""


class IDXError(MnistnnError, ValueError):
    """An IDX file is truncated, corrupted or not the MNIST shape."""


class DownloadError(MnistnnError):
    """No mirror delivered a verified file."""


class CheckpointError(MnistnnError, ValueError):
    """A checkpoint file is missing, damaged or not one of ours."""


class ImageError(MnistnnError, ValueError):
    """A user image cannot be read or holds no digit."""


class TrainingDiverged(MnistnnError):
    """The loss became NaN or infinite."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`), raised where the program is, so that it cleans up as after
    Ctrl-C; the process then exits 143 (128 + SIGTERM), not Ctrl-C's 130."""
    exit_code = 143
