"""A FIFO in place of a clip's frame image: the worker that reads it blocks there until a test writes to it, so a
clip is held in flight for as long as the test needs, however fast or busy the machine (Linux; used by
``tests/test_extract.py`` and ``tests/ray_lost_node.py``)."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path


def open_for_writing(fifo: Path, give_up: Callable[[], bool] = lambda: False) -> int | None:
    """The write end of ``fifo``, once a reader has it open (before that, opening it fails with ENXIO); None if
    ``give_up()`` turns true first."""
    while not give_up():
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader (yet, or any more)
                raise
            time.sleep(0.05)
    return None


def wait_until_no_other_reader(fifo: Path, timeout: float = 120.0) -> None:
    """Until no other process holds ``fifo`` open: a reader that still held it when the writer closed would read
    what was written so far (or nothing) instead of what comes next. A reader still blocked in ``open`` holds no
    descriptor yet, so it is not waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holders = []
        for fd in Path("/proc").glob("[0-9]*/fd/*"):
            try:
                if os.readlink(fd) == str(fifo) and fd.parts[2] != str(os.getpid()):
                    holders.append(fd.parts[2])
            except OSError:  # the process or descriptor went away meanwhile
                continue
        if not holders:
            return
        time.sleep(0.05)
    raise TimeoutError(f"processes {holders} still hold {fifo} after {timeout:.0f} s")
