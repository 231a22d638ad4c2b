"""Peak memory of a command and every process it starts, summed: what the machine must hold.

``/usr/bin/time -v`` reports the largest single process's peak; the main job trains its settings in several
processes at once, so that figure understates it. This runs the command, sums the resident memory of its whole
process tree every ``--interval`` seconds, and prints the highest sum, the wall time and the command's exit status.

    python benchmarks/peak_memory.py -- python -m hub_scripts.reproduce --output-dir outputs/reproduce
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import psutil


def tree_rss(root: psutil.Process) -> int:
    """Resident bytes of ``root`` and its descendants (processes that end meanwhile count as 0)."""
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --")
    started = time.perf_counter()
    child = subprocess.Popen(command)
    root = psutil.Process(child.pid)
    peak, peak_at = 0, 0.0
    while child.poll() is None:
        rss = tree_rss(root)
        if rss > peak:
            peak, peak_at = rss, time.perf_counter() - started
        time.sleep(args.interval)
    wall = time.perf_counter() - started
    print(
        f"[peak_memory] {' '.join(command)}: exit {child.returncode}, wall {wall:.0f} s ({wall / 60:.1f} min), "
        f"peak of the process tree {peak / 1e9:.2f} GB (at {peak_at:.0f} s)",
        file=sys.stderr,
    )
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
