"""The synthetic corpus as a corpus of your own: pose files written through pose-format in a chosen layout, and a
manifest with each gloss's true start and end.

Why: a manifest corpus with gold gloss times, in a layout other than full Holistic, is what the manifest builder,
the main job (``hub_scripts.reproduce --manifest``) and their tests need, and no public pose release ships with
this repository. The clips are ``dataset_builder.synthetic``'s (GSL sentences and signers of the SI split files),
rendered as full MediaPipe Holistic, written as ``.pose`` files (``dataset_builder.pose_io.to_pose``) and, for
``holistic_reduced``, reduced with pose-format's own ``reduce_holistic``::

    python -m dataset_builder.synthetic_manifest OUT --clips 120 40 40 [--layout holistic_reduced] [--timing gsl]

writes ``OUT/poses/<id>.pose`` and ``OUT/manifest.csv`` (columns ``id, split, gloss, text, signer, fps,
gloss_start, gloss_end``, times in milliseconds, splits named train / dev / test: build with
``--split-name dev=validation``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pose_format.utils.generic import reduce_holistic

from dataset_builder.gsl import SPLITS, load_split
from dataset_builder.pose_io import to_pose
from dataset_builder.synthetic import SyntheticGSL
from dataset_builder.timing import DEFAULT_TIMING, TIMINGS, SigningTiming
from modeling_signattention.layouts import layout_header

LAYOUTS = ("holistic", "holistic_reduced")
MANIFEST_SPLITS = dict(zip(SPLITS, ("train", "dev", "test"), strict=True))  # dev: a name the manifest maps
FRAME_SIZE = (640, 480)
COLUMNS = ["id", "split", "gloss", "text", "signer", "fps", "gloss_start", "gloss_end"]


def write_corpus(
    folder: str | Path,
    clips: Sequence[int],
    layout: str = "holistic_reduced",
    seed: int = 0,
    timing: str | SigningTiming = DEFAULT_TIMING,
) -> Path:
    """Write the first ``clips[i]`` clips of each SI split (train, validation, test), signed at ``timing``
    (``dataset_builder.timing``), into ``folder`` and return the manifest's path. Gloss times are the renderer's true
    spans, in milliseconds (3 decimals: exact frames, so the manifest builder finds the renderer's spans)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    folder = Path(folder)
    (folder / "poses").mkdir(parents=True, exist_ok=True)
    renderer = SyntheticGSL(seed=seed, landmark_set="full", timing=timing)
    width, height = FRAME_SIZE
    header = layout_header("holistic", width, height)  # no limbs: writing needs no MediaPipe
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for split, count in zip(SPLITS, clips, strict=True):
            for clip in load_split("si", split)[:count]:
                rendered = renderer.clip(clip.id, clip.glosses)
                clip_id = clip.id.replace("/", "_")
                confidence = (~np.isnan(rendered.pose).any(axis=-1)).astype(np.float32)
                pose = to_pose(
                    rendered.pose, confidence, fps=rendered.fps, width=width, height=height, header=header
                )
                if layout == "holistic_reduced":
                    pose = reduce_holistic(pose)
                with open(folder / "poses" / f"{clip_id}.pose", "wb") as file:
                    pose.write(file)
                milliseconds = rendered.gloss_spans * 1000 / rendered.fps
                writer.writerow(
                    [
                        clip_id,
                        MANIFEST_SPLITS[split],
                        " ".join(clip.glosses),
                        clip.text,
                        clip.signer,
                        f"{rendered.fps:g}",
                        " ".join(f"{time:.3f}" for time in milliseconds[:, 0]),
                        " ".join(f"{time:.3f}" for time in milliseconds[:, 1]),
                    ]
                )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builder.synthetic_manifest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("output", type=Path, help="folder for poses/ and manifest.csv")
    parser.add_argument(
        "--clips", type=int, nargs=3, default=(120, 40, 40), metavar=("TRAIN", "VALIDATION", "TEST")
    )
    parser.add_argument("--layout", choices=LAYOUTS, default="holistic_reduced")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timing", choices=TIMINGS, default=DEFAULT_TIMING, help="docs/timing.md")
    args = parser.parse_args(argv)
    print(write_corpus(args.output, args.clips, args.layout, args.seed, args.timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
