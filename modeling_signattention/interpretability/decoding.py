"""Translate poses and keep what the paper's interpretability analysis reads.

``translate_with_attention`` decodes (greedy or beam) with ``generate()``, then runs one teacher-forced pass over
the decoded sequence with ``output_attentions`` and ``output_block_outputs``. The decoder is causal, so that pass
computes exactly what each decoding step computed, for all steps at once (and for beam search, for the beam that
won, which per-step generate() outputs do not give directly). ``read_attention`` runs that pass alone, over glosses
decoded elsewhere (the pipeline's, in the Space), so a clip is never decoded twice.

Row convention: row k of ``cross_attention`` is the decoder step whose *output* is gloss k (its query is the token
before gloss k). The step that emits ``</s>`` is dropped, so rows = predicted glosses, columns = real model frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..attention_maps import predicted_ids
from ..pipeline_signattention import check_generate_options
from .attribution import sequences_from_ids


@dataclass
class Translation:
    glosses: list[str]
    token_ids: list[int]
    cross_attention: np.ndarray  # (n_glosses, n_frames): last decoder layer, mean over heads
    encoder_attention: np.ndarray  # (n_frames, n_frames): last encoder layer, mean over heads
    # (n_glosses, d_model): decoder self- and cross-attention block outputs, before the residual add
    self_block: np.ndarray
    cross_block: np.ndarray
    frame_indices: np.ndarray  # (n_frames,): index in the original clip of each model frame

    @property
    def text(self) -> str:
        return " ".join(self.glosses)


@torch.no_grad()
def translate_with_attention(
    model: Any,
    feature_extractor: Any,
    tokenizer: Any,
    poses: Sequence[Any],
    num_beams: int = 1,
    batch_size: int = 64,
    input_components: Sequence[str] | None = None,
    progress: bool = False,
) -> list[Translation]:
    """Decode every pose and return its glosses with attention maps and block outputs (see module docstring)."""
    check_generate_options(model.generation_config, {"num_beams": num_beams})
    model.eval()
    batches = range(0, len(poses), batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="decoding", unit="batch")
    results: list[Translation] = []
    for start in batches:
        inputs = feature_extractor(
            list(poses[start : start + batch_size]), training=False, input_components=input_components
        )
        inputs = inputs.to(model.device)
        sequences = model.generate(**inputs, num_beams=num_beams)
        results += teacher_forced(model, tokenizer, inputs, sequences, feature_extractor.sample_rate)
    return results


@torch.no_grad()
def read_attention(
    model: Any,
    feature_extractor: Any,
    tokenizer: Any,
    poses: Sequence[Any],
    token_ids: Sequence[Sequence[int]],
) -> list[Translation]:
    """The :class:`Translation` of glosses decoded elsewhere (``token_ids`` per pose, no special tokens; e.g. the
    pipeline's): one teacher-forced pass, no decoding, so a page that already has the glosses does not decode the
    clip again."""
    model.eval()
    inputs = feature_extractor(list(poses), training=False).to(model.device)
    sequences = sequences_from_ids(token_ids, model.config).to(model.device)
    return teacher_forced(model, tokenizer, inputs, sequences, feature_extractor.sample_rate)


def teacher_forced(
    model: Any, tokenizer: Any, inputs: Any, sequences: torch.Tensor, sample_rate: int
) -> list[Translation]:
    """One :class:`Translation` per row of ``sequences`` (``generate()``-style rows), from one teacher-forced pass
    over them with attentions and block outputs."""
    outputs = model(
        **inputs,
        decoder_input_ids=sequences,
        output_attentions=True,
        output_block_outputs=True,
        use_cache=False,
    )
    translations = []
    for row in range(sequences.shape[0]):
        produced = predicted_ids(sequences[row].tolist(), model.config)
        length = len(produced)
        num_frames = int(inputs["attention_mask"][row].sum())
        translations.append(
            Translation(
                glosses=tokenizer.convert_ids_to_tokens(produced),
                token_ids=produced,
                cross_attention=outputs.cross_attentions[-1][row].mean(0)[:length, :num_frames].cpu().numpy(),
                encoder_attention=outputs.encoder_attentions[-1][row]
                .mean(0)[:num_frames, :num_frames]
                .cpu()
                .numpy(),
                self_block=outputs.decoder_self_attention_outputs[-1][row, :length].cpu().numpy(),
                cross_block=outputs.decoder_cross_attention_outputs[-1][row, :length].cpu().numpy(),
                frame_indices=np.arange(num_frames) * sample_rate,
            )
        )
    return translations


def spans_to_model_frames(
    spans: Sequence[Sequence[int]], sample_rate: int, num_frames: int
) -> list[tuple[int, int]]:
    """Gold spans in clip frames ``[start, end)`` -> spans over the model's frames (frame i = clip frame i*rate).

    A model frame belongs to a span when the clip frame it shows does; a span never becomes empty.
    """
    converted = []
    for start, end in spans:
        first = min(math.ceil(start / sample_rate), num_frames - 1)
        last = min(max(math.ceil(end / sample_rate), first + 1), num_frames)
        converted.append((first, last))
    return converted
