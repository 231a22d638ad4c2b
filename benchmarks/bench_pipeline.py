"""What does ``pipeline("sign-language-translation")`` cost on top of the hand-written path?

Both translate the real signer video (58 frames) ``--repeats`` times, alternating, so load from other processes hits
both alike:

- hand-written: ``extract_clip`` (one reused Holistic, as a corpus run does) -> feature extractor -> ``generate()``
  -> ``batch_decode``;
- pipeline: ``translator(video)`` (its own reused Holistic and video reader, then the same three steps).

Both must give the same glosses. Goal: pipeline speed >= 0.95x the hand-written speed. The model is ``--model``
(default ``outputs/reproduce/si/model``, the main job's) if it exists, else a randomly initialised paper-size one.

    python benchmarks/bench_pipeline.py [--repeats 10] [--model DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, pipeline

from dataset_builder import EXAMPLE_VIDEO
from dataset_builder.extract import create_holistic, extract_clip
from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    SignLanguageTranslationPipeline,
    build_gloss_tokenizer,
    save_pipeline,
)

ROOT = Path(__file__).resolve().parents[1]
VIDEO = EXAMPLE_VIDEO


def random_model(folder: Path) -> Path:
    tokenizer = build_gloss_tokenizer(["ΕΓΩ ΣΠΙΤΙ ΒΟΗΘΩ ΠΡΟΒΛΗΜΑ ΕΣΥ"])
    model = SignAttentionForConditionalGeneration(SignAttentionConfig(vocab_size=len(tokenizer))).eval()
    save_pipeline(model, tokenizer, SignAttentionFeatureExtractor(), folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats", type=int, default=10, help="translations of the video per side (default 10)"
    )
    parser.add_argument("--model", type=Path, default=ROOT / "outputs" / "reproduce" / "si" / "model")
    args = parser.parse_args()
    print(
        f"cpus: {os.cpu_count()}  torch threads: {torch.get_num_threads()}  load (1 min): {os.getloadavg()[0]:.1f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model if args.model.is_dir() else random_model(Path(tmp) / "model")
        print(f"model: {folder}")
        model = SignAttentionForConditionalGeneration.from_pretrained(folder).eval()
        feature_extractor = SignAttentionFeatureExtractor.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        translator = pipeline(
            "sign-language-translation",
            model=model,
            tokenizer=tokenizer,
            feature_extractor=feature_extractor,
            pipeline_class=SignLanguageTranslationPipeline,
        )
        with create_holistic() as holistic:

            def hand_written() -> str:
                inputs = feature_extractor(extract_clip(VIDEO, holistic=holistic).landmarks)
                with torch.no_grad():
                    sequences = model.generate(**inputs)
                return tokenizer.batch_decode(sequences, skip_special_tokens=True)[0]

            def with_pipeline() -> str:
                return translator(str(VIDEO))["glosses"]

            assert hand_written() == with_pipeline(), "the two paths disagree"  # and warms both up
            seconds: dict[str, list[float]] = {"hand-written": [], "pipeline": []}
            for _ in range(args.repeats):
                for name, run in (("hand-written", hand_written), ("pipeline", with_pipeline)):
                    start = time.perf_counter()
                    run()
                    seconds[name].append(time.perf_counter() - start)

    for name, times in seconds.items():
        print(f"{name:>12}: median {statistics.median(times) * 1000:.0f} ms  total {sum(times):.2f} s")
    ratio = sum(seconds["hand-written"]) / sum(seconds["pipeline"])
    median_ratio = statistics.median(seconds["hand-written"]) / statistics.median(seconds["pipeline"])
    print(
        f"pipeline speed / hand-written speed: {ratio:.3f} (total), {median_ratio:.3f} (median)  goal >= 0.95"
    )
    print(f"load (1 min): {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
