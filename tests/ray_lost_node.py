"""A Ray cluster of two nodes on this machine loses, mid-clip, the node that runs a clip (``tests/test_extract.py``).

    python tests/ray_lost_node.py CORPUS OUTPUT    # CORPUS/gate/frame2.jpg is a FIFO; prints the summary as a JSON line

The head runs no clip (0 CPUs) and one worker node has 1 CPU. Once the gate clip's worker has opened the FIFO (a
writer can open a FIFO only once a reader has), that node is removed, its processes killed as a crashed machine's
would be; the FIFO becomes a plain image and a new node joins, where Ray reruns the clip. Its output can only come
from that rerun: the first attempt, had it survived, would have read an empty FIFO and failed.
"""

import json
import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import ray
from fifo_gate import open_for_writing, wait_until_no_other_reader
from ray.cluster_utils import Cluster

from dataset_builder.extract import extract_corpus
from dataset_builder.extract_ray import RayOptions


def main(corpus: Path, output: Path) -> None:
    gate = corpus / "gate" / "frame2.jpg"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    doomed = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    result = {}
    # The extraction runs in a thread: Ray adds and removes nodes from the main thread only (signal handlers).
    run = threading.Thread(
        target=lambda: result.update(summary=extract_corpus([corpus], output, engine=RayOptions()))
    )
    run.start()
    writer = open_for_writing(gate)
    cluster.remove_node(doomed, allow_graceful=False)
    # The removed node's worker is killed asynchronously: had it still held the FIFO when the writer closed, it would
    # read an empty image and fail the clip instead of dying (a race that lost on a loaded machine).
    wait_until_no_other_reader(gate)
    os.close(writer)
    gate.unlink()
    assert cv2.imwrite(str(gate), np.full((48, 64, 3), 255, np.uint8))
    cluster.add_node(num_cpus=1)
    run.join()
    summary = result["summary"]
    failed = {str(clip): error for clip, error in summary.failed.items()}
    print(
        json.dumps(
            {"ok": summary.ok, "extracted": sorted(p.name for p in summary.extracted), "failed": failed}
        )
    )
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
