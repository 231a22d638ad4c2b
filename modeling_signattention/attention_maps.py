"""The model's gloss x frame maps, read from one teacher-forced forward pass: which frames each predicted gloss
came from, and the time span that says where it was signed.

Like Whisper's alignment heads, the maps belong to the model, not to a caller: the pipeline's time stamps
(``return_timestamps=True``), the Space and the research layer (``interpretability.attribution``, which scores
these maps next to gradient methods) all read them here. Each one-pass map has a name (:data:`TIMESTAMP_METHODS`),
and the attention-weight maps can read one cross-attention head (:data:`HEAD_METHODS`, named ``value_norm_head1``
by :func:`head_method`). This file is saved with the model (the pipeline imports it) and needs only torch and
numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# Maps the pipeline can give time stamps from: one forward pass, no gradients (``interpretability.attribution`` has
# the gradient and occlusion methods, and scores them all).
TIMESTAMP_METHODS = ("attention", "value_norm", "rollout")
# Of those, the ones that can read one cross-attention head instead of the mean over heads. Heads of one model differ
# a lot (on the SD model: 59 % to 82 % of glosses peak inside their true span), so the leaderboard also scores each
# head, as a method named ``{method}_head{k}`` (:func:`head_method`), and picks one on the validation split.
HEAD_METHODS = ("attention", "value_norm")


def predicted_ids(sequence: list[int], config: Any) -> list[int]:
    """A ``generate()`` row's tokens after the decoder start token, up to end-of-sequence: token k is the query
    of row k of the cross-attention under teacher forcing."""
    ids = sequence[1:]
    return ids[: ids.index(config.eos_token_id)] if config.eos_token_id in ids else ids


def head_method(method: str, head: int) -> str:
    """The name of ``method`` (one of :data:`HEAD_METHODS`) reading only cross-attention head ``head``."""
    if method not in HEAD_METHODS:
        raise ValueError(f"{method!r} cannot read one head; only {', '.join(HEAD_METHODS)} can")
    return f"{method}_head{head}"


def split_head_method(name: str) -> tuple[str, int | None]:
    """``"value_norm_head1"`` -> ``("value_norm", 1)``; any other name -> ``(name, None)`` (all heads)."""
    method, marker, head = name.rpartition("_head")
    if marker and method in HEAD_METHODS and head.isdigit():
        return method, int(head)
    return name, None


def is_timestamp_method(name: str) -> bool:
    """Whether ``name`` is one of :data:`TIMESTAMP_METHODS`, all heads or one (``value_norm_head1``)."""
    return split_head_method(name)[0] in TIMESTAMP_METHODS


@torch.no_grad()
def gloss_frame_maps(
    model: Any,
    input_features: torch.Tensor,
    attention_mask: torch.Tensor,
    decoder_input_ids: torch.Tensor,
    method: str,
    layer: int = -1,
    head: int | None = None,
) -> torch.Tensor:
    """`(batch, glosses, frames)` map of ``method`` (:data:`TIMESTAMP_METHODS`, or a :func:`head_method` name, which
    sets ``head``), row k for the gloss that follows ``decoder_input_ids[:, k]``, from one teacher-forced forward
    pass with attention weights (padded frames and rows past ``</s>`` are filler). ``interpretability.attribution``
    gives the same maps cropped per clip.

    * ``attention``: cross-attention weights of decoder ``layer``, one ``head`` or the mean over heads;
    * ``value_norm``: ``‖Σ_h α_h[k, t] · W_o^h v_h[t]‖``, the size of what frame t adds to gloss k's cross-attention
      output (Kobayashi et al. 2020): a frame with a large weight but a tiny value vector contributes little.
      ``W_o^h`` is the slice of the output projection that reads head h, so the sum over heads is exactly what the
      attention block adds for frame t (bias aside); with ``head`` given, only that head's term;
    * ``rollout``: the last layer's head-mean cross-attention times the encoder's attention rollout: each encoder
      layer's head-mean attention ``A`` becomes ``(A + I) / 2`` (the residual connection carries the frame itself
      forward), and the layers compose by matrix product, last layer first (Abnar & Zuidema 2020).
    """
    method, named_head = split_head_method(method)
    if method not in TIMESTAMP_METHODS:
        raise ValueError(f"unknown map method {method!r}; known: {', '.join(TIMESTAMP_METHODS)}")
    head = named_head if named_head is not None else head
    if head is not None and not 0 <= head < model.config.num_heads:
        raise ValueError(
            f"head {head} does not exist: the model has {model.config.num_heads} attention heads"
        )
    outputs = model(
        input_features=input_features.to(model.device),
        attention_mask=attention_mask.to(model.device),
        decoder_input_ids=decoder_input_ids.to(model.device),
        output_attentions=True,
        use_cache=False,
    )
    weights = outputs.cross_attentions[layer]  # (batch, heads, glosses, frames)
    if method == "attention":
        return weights.mean(1) if head is None else weights[:, head]
    if method == "value_norm":
        block = model.model.decoder.layers[layer].encoder_attn
        values = block._split_heads(
            block.v_proj(outputs.encoder_last_hidden_state)
        )  # (batch, heads, frames, hd)
        out_weight = block.out_proj.weight.view(block.out_proj.out_features, block.num_heads, block.head_dim)
        transformed = torch.einsum("bhtk,ehk->bhte", values, out_weight)  # W_o^h v_h per frame
        if head is not None:
            return weights[:, head] * transformed[:, head].norm(dim=-1)[:, None, :]
        return torch.einsum("bhlt,bhte->blte", weights, transformed).norm(dim=-1)
    flow = None
    for encoder_weights in outputs.encoder_attentions:
        eye = torch.eye(encoder_weights.shape[-1], device=encoder_weights.device)
        mixed = 0.5 * encoder_weights.mean(1) + 0.5 * eye
        flow = mixed if flow is None else mixed @ flow
    return weights.mean(1) @ flow


def half_maximum_span(row: np.ndarray) -> tuple[int, int]:
    """``[start, end)`` model frames around the row's peak that reach half of it (full width at half maximum)."""
    peak = int(row.argmax())
    above = row >= row[peak] / 2
    start, end = peak, peak + 1
    while start > 0 and above[start - 1]:
        start -= 1
    while end < len(row) and above[end]:
        end += 1
    return start, end


def spans_to_seconds(
    spans: list[tuple[int, int]], sample_rate: int, fps: float, num_frames: int | None = None
) -> list[tuple[float, float]]:
    """Model-frame spans -> (start, end) seconds of the clip.

    Model frame i is clip frame ``i * sample_rate`` and stands for the ``sample_rate`` frames from there, so a
    span ``[s, e)`` covers clip frames ``[s * sample_rate, e * sample_rate)``, cut at the clip's ``num_frames``.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    last = float("inf") if num_frames is None else num_frames
    return [(start * sample_rate / fps, min(end * sample_rate, last) / fps) for start, end in spans]


__all__ = [
    "HEAD_METHODS",
    "TIMESTAMP_METHODS",
    "gloss_frame_maps",
    "half_maximum_span",
    "head_method",
    "is_timestamp_method",
    "predicted_ids",
    "spans_to_seconds",
    "split_head_method",
]
