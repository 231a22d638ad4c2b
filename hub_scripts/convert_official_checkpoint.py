"""Convert a checkpoint of the official ``KeypointsTransformer`` (pedroodb/sign_attention) into a Hub-ready folder.

    python -m hub_scripts.convert_official_checkpoint --checkpoint best.ckpt --vocab vocab.txt --output-dir DIR

The checkpoint is a Lightning ``.ckpt`` (its ``state_dict`` keys start with ``model.``) or a bare state dict of
the ``KeypointsTransformer``: ``src_keyp_emb.conv1d_1/conv1d_4`` (the Conv1d embedder), ``tgt_tok_emb.embedding``,
``transformer`` (a ``torch.nn.Transformer`` with ``batch_first=True``), ``generator``, and the positional tables
``src_pe.pe`` / ``tgt_pe.pe``. Every size is read from the weights, except the number of heads, which
``nn.Transformer`` does not store (the official code uses its default, 8). The vocabulary file has one token per
line, line number = id; its first four lines are PAD, UNK, BOS, EOS (they become ``<pad> <unk> <s> </s>``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch

from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    save_pipeline,
)
from modeling_signattention.layouts import HOLISTIC, LANDMARK_SETS
from modeling_signattention.tokenization_signattention import SPECIAL_TOKENS, gloss_tokenizer_from_vocabulary

# Landmark layouts the official code used, tried in this order to explain the embedder's input width.
KNOWN_LAYOUTS = {name: HOLISTIC.landmark_set(name) for name in LANDMARK_SETS}


def load_official_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The model's weights from a Lightning checkpoint or a bare state dict, without the ``model.`` prefix."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state:
        raise ValueError(f"{path} holds no state dict")
    state = {key.removeprefix("model."): value for key, value in state.items()}
    if "src_keyp_emb.conv1d_1.weight" not in state:
        raise ValueError(
            f"{path} is not a KeypointsTransformer checkpoint: no 'src_keyp_emb.conv1d_1.weight' key"
        )
    return state


def infer_config(state: dict[str, torch.Tensor], num_heads: int = 8) -> SignAttentionConfig:
    num_features = state["src_keyp_emb.conv1d_1.weight"].shape[1]
    layout = None
    for components in KNOWN_LAYOUTS.values():
        points = HOLISTIC.num_points(components)
        for coords in (3, 2):
            if points * coords == num_features:
                layout = (components, coords)
                break
        if layout:
            break
    if layout is None:
        raise ValueError(
            f"The embedder reads {num_features} features, which matches no known landmark layout"
        )

    def count_layers(stack: str) -> int:
        return len(
            {m.group(1) for key in state if (m := re.match(rf"transformer\.{stack}\.layers\.(\d+)\.", key))}
        )

    d_model = state["src_keyp_emb.conv1d_4.weight"].shape[0]
    return SignAttentionConfig(
        landmark_components=list(layout[0]),
        num_coordinates=layout[1],
        embedder_width=state["src_keyp_emb.conv1d_1.weight"].shape[0],
        d_model=d_model,
        num_heads=num_heads,
        ffn_dim=state["transformer.encoder.layers.0.linear1.weight"].shape[0],
        encoder_layers=count_layers("encoder"),
        decoder_layers=count_layers("decoder"),
        max_source_positions=state["src_pe.pe"].shape[1] if "src_pe.pe" in state else 220,
        max_target_positions=state["tgt_pe.pe"].shape[1] if "tgt_pe.pe" in state else 20,
        vocab_size=state["generator.weight"].shape[0],
    )


def _attention(prefix: str, official: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``nn.MultiheadAttention`` packs q/k/v in one ``in_proj``; ours keeps three projections."""
    q_w, k_w, v_w = state[f"{official}.in_proj_weight"].chunk(3)
    q_b, k_b, v_b = state[f"{official}.in_proj_bias"].chunk(3)
    return {
        f"{prefix}.q_proj.weight": q_w,
        f"{prefix}.q_proj.bias": q_b,
        f"{prefix}.k_proj.weight": k_w,
        f"{prefix}.k_proj.bias": k_b,
        f"{prefix}.v_proj.weight": v_w,
        f"{prefix}.v_proj.bias": v_b,
        f"{prefix}.out_proj.weight": state[f"{official}.out_proj.weight"],
        f"{prefix}.out_proj.bias": state[f"{official}.out_proj.bias"],
    }


def _copy(target: str, source: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{target}.weight": state[f"{source}.weight"], f"{target}.bias": state[f"{source}.bias"]}


def convert_state_dict(
    state: dict[str, torch.Tensor], config: SignAttentionConfig
) -> dict[str, torch.Tensor]:
    """Official parameter names -> ours (see the module docstring for the official layout)."""
    ours = {
        **_copy("model.encoder.embedder.conv_in", "src_keyp_emb.conv1d_1", state),
        **_copy("model.encoder.embedder.conv_out", "src_keyp_emb.conv1d_4", state),
        **_copy("model.encoder.layer_norm", "transformer.encoder.norm", state),
        **_copy("model.decoder.layer_norm", "transformer.decoder.norm", state),
        **_copy("lm_head", "generator", state),
        "model.decoder.embed_tokens.weight": state["tgt_tok_emb.embedding.weight"],
    }
    for i in range(config.encoder_layers):
        ours_layer, official = f"model.encoder.layers.{i}", f"transformer.encoder.layers.{i}"
        ours |= _attention(f"{ours_layer}.self_attn", f"{official}.self_attn", state)
        ours |= _copy(f"{ours_layer}.feed_forward.fc1", f"{official}.linear1", state)
        ours |= _copy(f"{ours_layer}.feed_forward.fc2", f"{official}.linear2", state)
        ours |= _copy(f"{ours_layer}.self_attn_layer_norm", f"{official}.norm1", state)
        ours |= _copy(f"{ours_layer}.final_layer_norm", f"{official}.norm2", state)
    for i in range(config.decoder_layers):
        ours_layer, official = f"model.decoder.layers.{i}", f"transformer.decoder.layers.{i}"
        ours |= _attention(f"{ours_layer}.self_attn", f"{official}.self_attn", state)
        ours |= _attention(f"{ours_layer}.encoder_attn", f"{official}.multihead_attn", state)
        ours |= _copy(f"{ours_layer}.feed_forward.fc1", f"{official}.linear1", state)
        ours |= _copy(f"{ours_layer}.feed_forward.fc2", f"{official}.linear2", state)
        ours |= _copy(f"{ours_layer}.self_attn_layer_norm", f"{official}.norm1", state)
        ours |= _copy(f"{ours_layer}.encoder_attn_layer_norm", f"{official}.norm2", state)
        ours |= _copy(f"{ours_layer}.final_layer_norm", f"{official}.norm3", state)
    return ours


def read_official_vocabulary(path: Path) -> dict[str, int]:
    """The official vocabulary file (one token per line, the four special tokens first) as token -> id."""
    tokens = [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()]
    if len(tokens) < len(SPECIAL_TOKENS):
        raise ValueError(f"{path} has {len(tokens)} lines; it needs PAD, UNK, BOS, EOS and the glosses")
    vocab = dict(zip(SPECIAL_TOKENS, range(len(SPECIAL_TOKENS)), strict=True))
    for line_number, token in enumerate(tokens[len(SPECIAL_TOKENS) :], start=len(SPECIAL_TOKENS)):
        if not token or token in vocab:
            raise ValueError(f"{path}:{line_number + 1}: empty or repeated token {token!r}")
        vocab[token] = line_number
    return vocab


def convert(
    checkpoint: Path,
    vocab_path: Path,
    output_dir: Path,
    num_heads: int = 8,
    sample_rate: int = 3,
    raw_coordinates: bool = False,
) -> Path:
    state = load_official_state_dict(checkpoint)
    config = infer_config(state, num_heads=num_heads)
    vocab = read_official_vocabulary(vocab_path)
    if len(vocab) != config.vocab_size:
        raise ValueError(
            f"{vocab_path} has {len(vocab)} tokens but the checkpoint's generator has {config.vocab_size}"
        )
    model = SignAttentionForConditionalGeneration(config)
    model.load_state_dict(convert_state_dict(state, config), strict=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = gloss_tokenizer_from_vocabulary(vocab, model_max_length=config.max_target_positions)
    feature_extractor = SignAttentionFeatureExtractor(
        landmark_components=config.landmark_components,
        num_coordinates=config.num_coordinates,
        sample_rate=sample_rate,
        max_frames=config.max_source_positions,
        normalize=not raw_coordinates,
        fill_missing=not raw_coordinates,
    )
    save_pipeline(model, tokenizer, feature_extractor, output_dir)
    return output_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="Lightning .ckpt or bare state dict")
    parser.add_argument("--vocab", type=Path, required=True, help="one token per line, line number = id")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--num-heads", type=int, default=8, help="not stored in the weights (official: 8)")
    parser.add_argument(
        "--sample-rate", type=int, default=3, help="1-in-N frame sampling the model was trained with"
    )
    parser.add_argument(
        "--raw-coordinates",
        action="store_true",
        help="the checkpoint was trained on image coordinates with missing points as 0 (no shoulder "
        "normalization, no interpolation of missing landmarks)",
    )
    args = parser.parse_args()
    for path in (args.checkpoint, args.vocab):
        if not path.is_file():
            parser.error(f"{path} does not exist")
    output = convert(
        args.checkpoint, args.vocab, args.output_dir, args.num_heads, args.sample_rate, args.raw_coordinates
    )
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
