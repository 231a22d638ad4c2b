"""This machine's physical limits for training, as torch operators see them (a roofline measured here).

    python benchmarks/roofline.py [--threads 1 2] [--processes 2]

Per intra-op thread count: square matmul peak (fp32, and bf16 as CPU autocast runs it), copy bandwidth of arrays
that fit a core's L2 cache ("in cache") and of arrays 16x the last-level cache ("DRAM"), and the cost of one
small operator call (a step of many small operators cannot beat count x cost). With ``--processes N``, the same
measured in N single-threaded processes at once (their sum): the ceiling of N data-parallel processes, and a test
of whether the machine's cores are independent (a virtual machine's two vCPUs may be one physical core's two
hardware threads, which share its vector units). Used by ``bench_step.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def best_seconds(run: Callable[[], object], repeats: int = 5, min_seconds: float = 0.05) -> float:
    """Seconds per call of ``run``: the best of ``repeats`` batches of calls lasting ``min_seconds`` or more each
    (on a shared machine the least disturbed batch is the closest to what the hardware does)."""
    run()
    started = time.perf_counter()
    run()
    number = max(1, int(min_seconds / max(time.perf_counter() - started, 1e-9)))
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            run()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def cache_bytes(level: int, default: int) -> int:
    """Size of cpu0's data (or unified) cache of ``level`` from sysfs, ``default`` where it cannot be read."""
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            is_data = (index / "type").read_text().strip() != "Instruction"
            if int((index / "level").read_text()) == level and is_data:
                size = (index / "size").read_text().strip()
                return int(size[:-1]) * {"K": 2**10, "M": 2**20}[size[-1]]
        except (OSError, ValueError, KeyError):
            break
    return default


@dataclass
class Roofline:
    label: str  # "1 thread", "2 threads", "2 processes x 1 thread"
    matmul_gflops: dict[str, float]  # dtype -> square matmul GFLOP/s
    cache_gbs: float  # copy, bytes read + written per second, arrays in L2
    dram_gbs: float  # the same, arrays 16x the last-level cache
    op_us: float  # one small operator call from Python, microseconds (per process)


def measure(threads: int, matmul_size: int = 1024) -> Roofline:
    torch.set_num_threads(threads)
    matmul = {}
    for name, dtype in DTYPES.items():
        a, b = torch.randn(2, matmul_size, matmul_size).to(dtype)
        out = torch.empty(matmul_size, matmul_size, dtype=dtype)
        seconds = best_seconds(lambda a=a, b=b, out=out: torch.mm(a, b, out=out))
        matmul[name] = 2 * matmul_size**3 / seconds / 1e9
    bandwidth = []
    # Source + destination in half of each thread's L2; then arrays far beyond the last-level cache.
    for array_bytes in (threads * cache_bytes(2, 2**20) // 4, 16 * cache_bytes(3, 32 * 2**20)):
        source = torch.randn(array_bytes // 4)
        destination = torch.empty_like(source)
        seconds = best_seconds(lambda s=source, d=destination: d.copy_(s))
        bandwidth.append(2 * array_bytes / seconds / 1e9)
    tiny = torch.zeros(16)
    op_us = best_seconds(lambda: tiny.add_(1.0)) * 1e6
    label = f"{threads} thread{'s' if threads > 1 else ''}"
    return Roofline(label, matmul, *bandwidth, op_us)


def measure_processes(count: int) -> Roofline:
    """``measure(1)`` in ``count`` processes started together (each waits for a common start time after its
    imports); matmul and bandwidth are their sum, the operator cost their mean."""
    start_at = time.time() + 10.0
    command = [sys.executable, __file__, "--worker-start-at", str(start_at)]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    results = [Roofline(**json.loads(worker.communicate()[0])) for worker in workers]
    return Roofline(
        f"{count} processes x 1 thread",
        {name: sum(result.matmul_gflops[name] for result in results) for name in DTYPES},
        sum(result.cache_gbs for result in results),
        sum(result.dram_gbs for result in results),
        sum(result.op_us for result in results) / count,
    )


def print_table(rooflines: list[Roofline]) -> None:
    print("roofline (best of 5 batches; bandwidth counts bytes read + written):")
    print(
        f"  {'':24s} {'fp32 GFLOP/s':>13} {'bf16 GFLOP/s':>13} {'in-cache GB/s':>14} {'DRAM GB/s':>10} {'op us':>6}"
    )
    for roof in rooflines:
        print(
            f"  {roof.label:24s} {roof.matmul_gflops['fp32']:13.1f} {roof.matmul_gflops['bf16']:13.1f} "
            f"{roof.cache_gbs:14.1f} {roof.dram_gbs:10.1f} {roof.op_us:6.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--processes", type=int, default=2, help="0: skip the multi-process row")
    parser.add_argument("--worker-start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_start_at is not None:
        time.sleep(max(0.0, args.worker_start_at - time.time()))
        print(json.dumps(asdict(measure(1))))
        return
    rooflines = [measure(threads) for threads in args.threads]
    if args.processes > 1:
        rooflines.append(measure_processes(args.processes))
    print_table(rooflines)


if __name__ == "__main__":
    main()
