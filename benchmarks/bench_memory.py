"""Peak memory of training's data: a split's poses streamed into preprocessed clips (what ``hub_scripts.train``
does) against the split held whole and then preprocessed (``load_pose_splits``, what evaluation and analysis read),
each in its own process, measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/bench_memory.py --dataset-dir outputs/reproduce/si/dataset [--split train]

Prints each way's peak resident memory (``ru_maxrss`` of the child), the bytes of preprocessed clips it ends with
(the same in both) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

WAYS = ("streamed", "held whole")


def measure(dataset_dir: str, split: str, way: str) -> dict[str, float]:
    """In this process: build ``PoseSeq2SeqDataset`` for ``split`` the ``way`` asked; its seconds and clip bytes."""
    from dataset_builder.loading import dataset_metadata, iter_split_poses, load_pose_splits, load_targets
    from hub_scripts.train import PoseSeq2SeqDataset
    from modeling_signattention import SignAttentionConfig, SignAttentionFeatureExtractor

    config = SignAttentionConfig()
    extractor = SignAttentionFeatureExtractor(
        config.landmark_components, config.num_coordinates, max_frames=config.max_source_positions
    )
    components = dataset_metadata(dataset_dir)["input_components"]
    labels = [[1]] * len(load_targets(dataset_dir, split, "gloss"))
    started = time.perf_counter()
    if way == "streamed":
        poses = iter_split_poses(dataset_dir, split)
    else:
        poses = load_pose_splits(dataset_dir, [split])[split].poses
    clips = PoseSeq2SeqDataset(poses, labels, True, extractor, components)
    return {
        "seconds": time.perf_counter() - started,
        "clip_gb": sum(clip.nbytes for clip in clips.clips) / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset-dir", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.dataset_dir, args.split, args.child)
        result["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB
        print(json.dumps(result))
        return
    results = {}
    for way in WAYS:
        argv = [
            sys.executable,
            __file__,
            "--dataset-dir",
            args.dataset_dir,
            "--split",
            args.split,
            "--child",
            way,
        ]
        output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        results[way] = json.loads(output.strip().splitlines()[-1])
        print(
            f"{way:>10}: peak {results[way]['peak_gb']:.2f} GB, preprocessed clips {results[way]['clip_gb']:.2f} GB, "
            f"{results[way]['seconds']:.1f} s"
        )
    ratio = results["held whole"]["peak_gb"] / results["streamed"]["peak_gb"]
    print(f"streamed peak = 1/{ratio:.2f} of the held split's ({args.split} of {args.dataset_dir})")


if __name__ == "__main__":
    main()
