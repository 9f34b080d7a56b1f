"""files.py: atomic writes, messages that name the user's path, stale temporary files."""
import errno
import os
import stat
import subprocess
import sys
import time

import pytest

from mnistnn.files import atomic_open, folder_lock, remove_stale

# A writer that takes the lock files.py takes, then waits to be killed (kill -9 or not).
WRITER = """
import sys, time
from mnistnn.files import atomic_open
with atomic_open(sys.argv[1]) as f:
    f.write(b"half a checkpoint")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""
LOCKER = """
import sys, time
from mnistnn.files import folder_lock
with folder_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def start(code, *args):
    """A child Python running code, once it has printed its first line."""
    child = subprocess.Popen([sys.executable, "-c", code, *map(str, args)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline()
    return child


def hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_failed_write_keeps_the_previous_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "latest.npz"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b"half")
            raise RuntimeError("power cut")
    assert target.read_bytes() == b"good" and hidden(tmp_path) == []
    with atomic_open(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and hidden(tmp_path) == []


def test_the_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(
        stat.S_ISDIR(os.fstat(fd).st_mode)) or real_fsync(fd))
    with atomic_open(tmp_path / "a.png") as f:
        f.write(b"x")
    assert synced == [False, True]  # the file's bytes, then the folder's new entry


def test_a_missing_folder_is_named_not_the_temporary_file(tmp_path):
    target = tmp_path / "nodir" / "e.png"
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_open(target) as f:
            f.write(b"x")
    assert caught.value.filename == str(target)
    assert ".tmp" not in str(caught.value)


def test_a_write_error_names_the_users_path(tmp_path):
    target = tmp_path / "latest.npz"
    with pytest.raises(OSError) as caught:
        with atomic_open(target):
            raise OSError(errno.ENOSPC, "No space left on device")  # as a full disk's write
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert hidden(tmp_path) == []


def test_an_unrelated_error_in_the_block_is_left_alone(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_open(tmp_path / "out.png"):
            open(tmp_path / "elsewhere.txt")
    assert caught.value.filename == str(tmp_path / "elsewhere.txt")


def test_the_leftovers_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "latest.npz"
    writer = start(WRITER, target)
    writer.kill()  # kill -9: no cleanup runs
    writer.wait()
    leftover = hidden(tmp_path)
    assert len(leftover) == 1 and leftover[0].startswith(".latest.npz.")
    with atomic_open(target) as f:  # just killed: too young to judge, kept
        f.write(b"1")
    assert hidden(tmp_path) == leftover
    age(tmp_path / leftover[0], 3600)
    with atomic_open(target) as f:
        f.write(b"2")
    assert hidden(tmp_path) == [] and target.read_bytes() == b"2"


def test_a_file_a_live_process_is_writing_is_never_removed(tmp_path):
    target = tmp_path / "latest.npz"
    writer = start(WRITER, target)
    try:
        (name,) = hidden(tmp_path)
        age(tmp_path / name, 3600)  # old, but its writer is alive and holds the lock
        remove_stale(target)
        with atomic_open(target) as f:
            f.write(b"mine")
        assert hidden(tmp_path) == [name]
    finally:
        writer.kill()
        writer.wait()
    remove_stale(target)
    assert hidden(tmp_path) == []


def test_only_our_own_names_are_touched(tmp_path):
    names = [".latest.npz.notours.tmp", ".best.npz.abcd1234.tmp", ".latest.npz.abcd1234.part",
             "latest.npz.abcd1234.tmp"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        age(tmp_path / name, 3600)
    remove_stale(tmp_path / "latest.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_folder_lock_makes_a_second_process_wait(tmp_path):
    holder = start(LOCKER, tmp_path, 1.5)
    waited = []
    started = time.monotonic()
    with folder_lock(tmp_path, on_wait=lambda: waited.append(True)):
        elapsed = time.monotonic() - started
    holder.wait()
    assert waited == [True] and elapsed > 0.5
    with folder_lock(tmp_path, on_wait=lambda: waited.append(False)):
        pass  # free now: no waiting
    assert waited == [True] and os.listdir(tmp_path) == []


def test_folder_lock_without_waiting_says_it_is_held_elsewhere(tmp_path):
    holder = start(LOCKER, tmp_path, 30)
    try:
        with folder_lock(tmp_path, wait=False) as held:
            assert held is False
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(tmp_path, wait=False) as held:
        assert held is True


def test_folder_lock_is_reentrant_within_a_process(tmp_path):
    with folder_lock(tmp_path) as outer:
        with folder_lock(tmp_path / ".." / tmp_path.name, on_wait=pytest.fail) as inner:
            assert outer and inner  # no waiting for ourselves
        with folder_lock(tmp_path, wait=False) as again:
            assert again
    holder = start(LOCKER, tmp_path, 0)  # released: another process gets it at once
    holder.wait()
    assert holder.returncode == 0


def test_folder_lock_runs_unlocked_where_the_folder_cannot_be_opened(tmp_path):
    with folder_lock(tmp_path / "absent") as held:
        assert held
