"""Decoding speed of SignAttention against the official decoding style, measured in the same run.

    python benchmarks/bench_generate.py [--batch 64] [--frames 220] [--beam-samples 4] [--repeats 3]

Paper configuration (d_model 16, 1+1 layers, FFN 2048, 75 keypoints x 3), a GSL-sized vocabulary, and the EOS logit
pushed down in both models so that every run decodes the full 20 tokens (equal work on both sides).
1. greedy: ``generate()`` (KV cache, batched) vs the official loop (no cache: the whole prefix re-decoded each step).
2. beam k=32: ``generate(num_beams=32)`` on a batch vs a plain beam search over one sample at a time.
3. the cost of ``output_attentions=True, return_dict_in_generate=True`` on greedy ``generate()``, next to its floor:
   the time to write a fresh tensor the size of the encoder's weights once (the page faults that return them costs,
   whatever computes them; docs/benchmarks.md, "Attention weights").
Goals: greedy >= 2x, beam >= 25x, attentions <= 1.15x.
"""

from __future__ import annotations

import argparse
import time

import torch

from hub_scripts.convert_official_checkpoint import convert_state_dict, infer_config
from hub_scripts.official_reference import (
    KeypointsTransformer,
    beam_search_one_sample,
    greedy_decode_no_cache,
)
from modeling_signattention import SignAttentionForConditionalGeneration

VOCAB, BOS, EOS, MAX_LEN, NUM_BEAMS = 314, 2, 3, 20, 32


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=220)
    parser.add_argument("--beam-samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)

    reference = KeypointsTransformer(vocab_size=VOCAB).eval()
    with torch.no_grad():
        reference.generator.bias[EOS] = -1e4  # decode all 20 tokens on both sides
    state = reference.state_dict()
    config = infer_config(state)
    model = SignAttentionForConditionalGeneration(config).eval()
    model.load_state_dict(convert_state_dict(state, config))

    features = torch.randn(args.batch, args.frames, config.num_features)
    mask = torch.ones(args.batch, args.frames, dtype=torch.long)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, {args.frames} frames, "
        f"{MAX_LEN} tokens, attn {model.config._attn_implementation}"
    )

    ours = best_time(lambda: model.generate(features, attention_mask=mask, max_length=MAX_LEN), args.repeats)
    official = best_time(
        lambda: greedy_decode_no_cache(reference, features, mask == 0, BOS, EOS, MAX_LEN), args.repeats
    )
    same = torch.equal(
        model.generate(features, attention_mask=mask),
        greedy_decode_no_cache(reference, features, None, BOS, EOS, 20),
    )
    print(
        f"greedy  generate(): {ours * 1e3:8.1f} ms   no-cache loop: {official * 1e3:8.1f} ms   "
        f"speed-up {official / ours:5.2f}x (goal >= 2x)   same tokens: {same}"
    )

    with_attn = best_time(
        lambda: model.generate(
            features,
            attention_mask=mask,
            max_length=MAX_LEN,
            output_attentions=True,
            return_dict_in_generate=True,
        ),
        args.repeats,
    )
    weights_shape = (args.batch, config.num_heads, args.frames, args.frames)
    first_touch = best_time(lambda: torch.empty(weights_shape).fill_(0.0), args.repeats)
    print(
        f"attentions  with: {with_attn * 1e3:8.1f} ms   without: {ours * 1e3:8.1f} ms   "
        f"overhead {with_attn / ours:5.2f}x (goal <= 1.15x)   floor: writing a fresh {weights_shape} tensor "
        f"{first_touch * 1e3:.1f} ms = {(ours + first_touch) / ours:5.2f}x"
    )

    beam_features = features[: args.beam_samples]
    ours_beam = best_time(
        lambda: model.generate(beam_features, num_beams=NUM_BEAMS, max_length=MAX_LEN),
        max(1, args.repeats - 2),
    )
    official_beam = best_time(
        lambda: [
            beam_search_one_sample(reference, clip, BOS, EOS, MAX_LEN, NUM_BEAMS) for clip in beam_features
        ],
        1,
    )
    print(
        f"beam k={NUM_BEAMS} x {args.beam_samples} clips  generate(): {ours_beam * 1e3:8.1f} ms   "
        f"one-at-a-time: {official_beam * 1e3:8.1f} ms   speed-up {official_beam / ours_beam:5.1f}x (goal >= 25x)"
    )


if __name__ == "__main__":
    main()
