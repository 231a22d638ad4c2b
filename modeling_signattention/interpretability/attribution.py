"""Which frames each predicted gloss came from: six attribution methods behind one signature, in one registry.

Every method takes the model, a batch from the feature extractor (``input_features``, ``attention_mask``) and the
decoded sequences (``generate()`` output: decoder start token, glosses, ``</s>``, padding), and returns one
non-negative ``(glosses, frames)`` map per clip, padding removed, row k for the k-th predicted gloss:

* ``attention``: the decoder's cross-attention weights (a layer, a head or the mean over heads), what the paper
  reads (``attention_head1`` and so on name one head, for this method and ``value_norm``: :func:`head_methods`);
* ``value_norm``: ``‖Σ_h α_h · W_o^h v_h‖``, the size of what each frame adds to the gloss's cross-attention output
  (Kobayashi et al. 2020, "Attention is Not Only a Weight"): a frame with a large weight but a tiny value vector
  contributes little;
* ``rollout``: the cross-attention composed with the encoder's self-attention, each layer mixed half-half with the
  identity for the residual connection (Abnar & Zuidema 2020), so frames that fed the attended encoder states get
  the credit;
* ``input_x_gradient``, ``integrated_gradients`` (Captum): gradient-based credit to the input landmarks, summed in
  absolute value over the landmarks of a frame (:func:`articulator_maps` keeps the split by articulator: body,
  left hand, right hand, face when the model reads it);
* ``occlusion`` (Captum): how much the gloss's log-probability drops when a window of frames is removed from the
  clip (masked out of the attention), positive part.

The gradient and occlusion methods explain ``log p(gloss k | glosses before k, clip)`` under teacher forcing of the
decoded sequence: the quantity the model maximised when it emitted gloss k. Clips are checked first: an empty
prediction or a clip of one frame has no map to give and raises a ``ValueError`` naming the clip.

A method is one function decorated with :func:`attribution_method`, which registers it under its name
(:data:`REGISTRY`; :data:`METHODS` lists the names): the leaderboard, ``hub_scripts.interpret`` and the Space pick it
up from there. A head is an argument (``head=1``); its name ``value_norm_head1`` stays accepted everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch

from ..attention_maps import HEAD_METHODS, gloss_frame_maps, head_method, predicted_ids, split_head_method

# -- The registry: a method is one function, registered under its name ----------------------------------------------


@dataclass(frozen=True)
class AttributionMethod:
    """An attribution method: its name, the function that gives its maps, and whether that function is a gradient
    method (Captum), whose maps also split by articulator (:func:`articulator_maps`)."""

    name: str
    function: Callable[..., list[np.ndarray]]
    gradients: bool = False

    @property
    def reads_heads(self) -> bool:
        """Whether it can read one cross-attention head (``head=k``, or the name ``{name}_head{k}``)."""
        return self.name in HEAD_METHODS


# Name -> method, in the order pages list them: filled by :func:`attribution_method`, where each method is defined.
REGISTRY: dict[str, AttributionMethod] = {}


def attribution_method(*, gradients: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the attribution method of its name: adding a method is this one
    definition (``function(model, batch, sequences, *, clip_ids=None, **options) -> [(glosses, frames) map]``)."""

    def register(function: Callable[..., list[np.ndarray]]) -> Callable[..., list[np.ndarray]]:
        REGISTRY[function.__name__] = AttributionMethod(function.__name__, function, gradients)
        return function

    return register


# -- The decoded sequences, checked ----------------------------------------------------------------------------------


@dataclass
class DecodedBatch:
    """A batch and its decoded glosses laid out for teacher forcing.

    ``decoder_input_ids[:, k]`` is the token before gloss k and ``targets[:, k]`` gloss k itself; positions at or
    after a clip's ``</s>`` are filler (their log-probabilities are never read).
    """

    input_features: torch.Tensor  # (batch, frames, features)
    attention_mask: torch.Tensor  # (batch, frames)
    decoder_input_ids: torch.Tensor  # (batch, max glosses)
    targets: torch.Tensor  # (batch, max glosses)
    num_glosses: list[int]
    num_frames: list[int]

    def crop(self, maps: torch.Tensor | np.ndarray) -> list[np.ndarray]:
        """`(batch, max glosses, frames)` -> one `(glosses, frames)` float64 array per clip, padding removed."""
        if isinstance(maps, torch.Tensor):
            maps = maps.detach().double().cpu().numpy()
        return [
            np.asarray(maps[row, :glosses, :frames], dtype=np.float64)
            for row, (glosses, frames) in enumerate(zip(self.num_glosses, self.num_frames, strict=True))
        ]


def clip_name(row: int, clip_ids: Sequence[str] | None) -> str:
    """How an error names a clip: its id when the caller gave ids, else its row in the batch."""
    return f"clip {clip_ids[row]!r}" if clip_ids is not None else f"clip {row} of the batch"


def decoded_batch(
    model: Any, batch: Any, sequences: torch.Tensor, clip_ids: Sequence[str] | None = None
) -> DecodedBatch:
    """Check the batch and the sequences and lay them out for teacher forcing (see :class:`DecodedBatch`)."""
    features = batch["input_features"].to(model.device)
    mask = batch["attention_mask"].to(model.device)
    sequences = torch.as_tensor(sequences, device=model.device)
    if sequences.dim() != 2 or sequences.shape[0] != features.shape[0]:
        raise ValueError(
            f"sequences must be (batch, length) with one row per clip ({features.shape[0]}), "
            f"got shape {tuple(sequences.shape)}"
        )
    if clip_ids is not None and len(clip_ids) != features.shape[0]:
        raise ValueError(f"got {len(clip_ids)} clip ids for a batch of {features.shape[0]} clips")
    if model.training:
        raise ValueError(
            "the model is in training mode (dropout on, maps would be random): call model.eval()"
        )
    num_glosses, num_frames = [], []
    for row in range(features.shape[0]):
        glosses = len(predicted_ids(sequences[row].tolist(), model.config))
        frames = int(mask[row].sum())
        if glosses == 0:
            raise ValueError(f"{clip_name(row, clip_ids)}: empty prediction, there is no gloss to attribute")
        if frames < 2:
            raise ValueError(
                f"{clip_name(row, clip_ids)}: {frames} frame; a map over a single frame says nothing about where "
                "a gloss is"
            )
        num_glosses.append(glosses)
        num_frames.append(frames)
    longest = max(num_glosses)
    return DecodedBatch(
        features,
        mask,
        sequences[:, :longest],
        sequences[:, 1 : longest + 1],
        num_glosses,
        num_frames,
    )


def gloss_log_probs(
    model: Any,
    input_features: torch.Tensor,
    attention_mask: torch.Tensor,
    decoder_input_ids: torch.Tensor,
    targets: torch.Tensor,
    *,
    eager_attention: bool = False,
) -> torch.Tensor:
    """`(rows, glosses)`: log p(gloss k | glosses before k, clip) under teacher forcing, what every method explains.

    ``attention_mask`` may be float: a 0 removes a frame from every attention (how occlusion and deletion hide
    frames without inventing a replacement pose). ``eager_attention`` runs the eager attention (by asking for the
    weights), whose backward ``torch.func.vmap`` batches; sdpa's it runs one cotangent at a time.
    """
    logits = model(
        input_features=input_features,
        attention_mask=attention_mask,
        decoder_input_ids=decoder_input_ids,
        output_attentions=eager_attention,
        use_cache=False,
    ).logits
    return logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


# -- Attention-based methods: one forward pass (``gloss_frame_maps``, which the pipeline's time stamps use too) ----


def _attention_map(
    method: str,
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    clip_ids: Sequence[str] | None,
    layer: int = -1,
    head: int | None = None,
) -> list[np.ndarray]:
    decoded = decoded_batch(model, batch, sequences, clip_ids)
    maps = gloss_frame_maps(
        model, decoded.input_features, decoded.attention_mask, decoded.decoder_input_ids, method, layer, head
    )
    return decoded.crop(maps)


@attribution_method()
def attention(
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    layer: int = -1,
    head: int | None = None,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Raw cross-attention weights of decoder ``layer`` (default: the last), one ``head`` or their mean."""
    return _attention_map("attention", model, batch, sequences, clip_ids, layer, head)


@attribution_method()
def value_norm(
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    layer: int = -1,
    head: int | None = None,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """``‖Σ_h α_h[k, t] · W_o^h v_h[t]‖``: the norm of frame t's share of gloss k's cross-attention output
    (:func:`~modeling_signattention.pipeline_signattention.gloss_frame_maps`)."""
    return _attention_map("value_norm", model, batch, sequences, clip_ids, layer, head)


@attribution_method()
def rollout(
    model: Any, batch: Any, sequences: torch.Tensor, *, clip_ids: Sequence[str] | None = None
) -> list[np.ndarray]:
    """Last decoder layer's cross-attention (mean over heads) times the encoder's attention rollout
    (:func:`~modeling_signattention.pipeline_signattention.gloss_frame_maps`)."""
    return _attention_map("rollout", model, batch, sequences, clip_ids)


# -- Gradient methods (Captum) --------------------------------------------------------------------------------------


def _per_gloss_forward(model: Any) -> Callable[..., torch.Tensor]:
    """The function Captum explains: the clip once per gloss position, ``(clips, glosses, frames, features)`` ->
    ``(clips,)``, the sum over k of log p(gloss k | copy k of the clip) under teacher forcing.

    Copy k reaches only gloss k's term, so the gradient with respect to copy k is the gradient of log p(gloss k)
    alone: one attribution call gives every gloss of every clip its own map. Differentiated as written, it runs the
    model once per gloss; :func:`_shared_forward_gradients` gives the same gradients from one pass per clip.
    """

    def forward(
        copies: torch.Tensor, mask: torch.Tensor, decoder_input_ids: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        clips, glosses = copies.shape[:2]
        rows = torch.arange(clips, device=copies.device).repeat_interleave(glosses)
        log_probs = gloss_log_probs(
            model, copies.flatten(0, 1), mask[rows], decoder_input_ids[rows], targets[rows]
        )
        return log_probs.view(clips, glosses, glosses).diagonal(dim1=1, dim2=2).sum(-1)

    return forward


def _shared_forward_gradients(model: Any, memory_bytes: int = 2**21) -> Callable[..., tuple[torch.Tensor]]:
    """A Captum ``gradient_func``: the gradients of :func:`_per_gloss_forward`, from one forward pass per clip.

    All copies of a clip are equal (Captum scales them alike), so the model runs once on the clip;
    ``torch.func.vjp`` keeps that pass, and ``vmap`` runs its backward for one one-hot cotangent per gloss position
    (in chunks, so the feed-forward's ``(frames, ffn_dim)`` gradient of a chunk stays near ``memory_bytes``: small
    chunks stay in the CPU cache, measured faster than large ones). No gradient of the weights is computed.
    Measured on 64 SI test clips, 1 thread, shared machine: input x gradient 0.6 CPU seconds against 1.3-1.6 for
    the model run once per gloss, integrated gradients (8 steps) 3.7-4.1 against 5.4-5.8; same gradients to 2e-5.
    """

    def gradients(
        forward_fn: Callable[..., torch.Tensor],
        inputs: tuple[torch.Tensor, ...],
        target_ind: Any = None,
        additional_forward_args: tuple[torch.Tensor, ...] | None = None,
    ) -> tuple[torch.Tensor]:
        (copies,) = inputs
        mask, decoder_input_ids, targets = additional_forward_args
        clip = copies[:, 0].detach()
        if not torch.equal(copies, clip[:, None].expand_as(copies)):
            raise ValueError("the copies of a clip differ: their gradients cannot share one forward pass")

        def log_probs(features: torch.Tensor) -> torch.Tensor:
            return gloss_log_probs(model, features, mask, decoder_input_ids, targets, eager_attention=True)

        values, backward = torch.func.vjp(log_probs, clip)
        glosses = copies.shape[1]
        one_hot = torch.eye(glosses, dtype=values.dtype, device=values.device)
        cotangents = one_hot[:, None, :].expand(glosses, clip.shape[0], glosses)
        per_gloss = int(mask.sum()) * model.config.ffn_dim * values.element_size()
        (grads,) = torch.func.vmap(backward, chunk_size=max(1, memory_bytes // max(per_gloss, 1)))(cotangents)
        return (grads.transpose(0, 1),)  # (clips, glosses, frames, features)

    return gradients


def articulator_slices(config: Any) -> dict[str, slice]:
    """Articulator name -> the slice of a frame's features holding its landmarks (the model's component order)."""
    slices, start, layout = {}, 0, config.landmark_layout
    for component in config.landmark_components:
        width = layout.sizes[component] * config.num_coordinates
        slices[layout.articulator(component)] = slice(start, start + width)
        start += width
    return slices


def _gradient_attributions(
    method: str,
    model: Any,
    decoded: DecodedBatch,
    n_steps: int,
    internal_batch_size: int,
) -> list[np.ndarray]:
    """Signed Captum attributions, one `(glosses, frames, features)` array per clip, padding removed.

    Clips are explained ``internal_batch_size`` at a time, in order of their number of glosses: every clip of an
    attribution call pays for as many backward passes as its longest sentence has glosses, so mixing lengths would
    waste up to half of them. Integrated gradients runs as many of its steps per pass as fit in
    ``internal_batch_size`` clip-steps.
    """
    from captum.attr import InputXGradient, IntegratedGradients

    method_class = IntegratedGradients if method == "integrated_gradients" else InputXGradient
    attributor = method_class(_per_gloss_forward(model))
    attributor.gradient_func = _shared_forward_gradients(model)
    order = np.argsort(decoded.num_glosses, kind="stable")
    per_clip: list[np.ndarray] = [np.empty(0)] * len(order)
    for start in range(0, len(order), internal_batch_size):
        rows = order[start : start + internal_batch_size]
        glosses = max(decoded.num_glosses[row] for row in rows)
        frames = max(decoded.num_frames[row] for row in rows)
        index = torch.as_tensor(rows, device=decoded.input_features.device)
        copies = decoded.input_features[index, None, :frames].expand(-1, glosses, -1, -1)
        extra = (
            decoded.attention_mask[index, :frames],
            decoded.decoder_input_ids[index, :glosses],
            decoded.targets[index, :glosses],
        )
        if method == "integrated_gradients":
            attributions = attributor.attribute(
                copies,
                baselines=0.0,  # the feature extractor's value for a landmark that was not detected
                additional_forward_args=extra,
                n_steps=n_steps,
                method="gausslegendre",
                internal_batch_size=max(internal_batch_size, len(rows)),
            )
        else:
            attributions = attributor.attribute(
                copies.clone().requires_grad_(), additional_forward_args=extra
            )
        for row, clip in zip(rows, attributions.detach(), strict=True):
            per_clip[row] = clip[: decoded.num_glosses[row], : decoded.num_frames[row]].double().cpu().numpy()
    return per_clip


def signed_gradient_attributions(
    method: str,
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    n_steps: int = 8,
    internal_batch_size: int = 8,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """The raw Captum attributions of a gradient method: one signed `(glosses, frames, features)` array per clip.

    For ``integrated_gradients`` the attributions of gloss k sum (completeness) to ``log p(k | clip) -
    log p(k | all landmarks missing)`` up to the Gauss-Legendre quadrature error of ``n_steps`` points.
    """
    if method not in GRADIENT_METHODS:
        raise ValueError(f"unknown gradient method {method!r}; known: {list(GRADIENT_METHODS)}")
    decoded = decoded_batch(model, batch, sequences, clip_ids)
    return _gradient_attributions(method, model, decoded, n_steps, internal_batch_size)


def articulator_maps(
    method: str,
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    n_steps: int = 8,
    internal_batch_size: int = 8,
    clip_ids: Sequence[str] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Per clip: articulator -> its `(glosses, frames)` map (absolute attributions summed over its landmarks).

    The articulators' maps add up to the method's map, so ``maps[part].sum() / total`` is the share of a gloss's
    attribution that the body, a hand or the face carries.
    """
    signed = signed_gradient_attributions(
        method,
        model,
        batch,
        sequences,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        clip_ids=clip_ids,
    )
    slices = articulator_slices(model.config)
    return [{part: np.abs(clip[..., where]).sum(-1) for part, where in slices.items()} for clip in signed]


@attribution_method(gradients=True)
def input_x_gradient(
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    internal_batch_size: int = 8,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Input × gradient of log p(gloss k), absolute values summed over a frame's landmarks (Captum)."""
    options = {"internal_batch_size": internal_batch_size, "clip_ids": clip_ids}
    signed = signed_gradient_attributions("input_x_gradient", model, batch, sequences, **options)
    return [np.abs(clip).sum(-1) for clip in signed]


@attribution_method(gradients=True)
def integrated_gradients(
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    n_steps: int = 8,
    internal_batch_size: int = 8,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Integrated gradients of log p(gloss k) from an all-landmarks-missing clip (zeros, the extractor's value for
    an undetected landmark), absolute values summed over a frame's landmarks (Captum, Gauss-Legendre steps).

    Each step costs a forward pass per clip and a backward pass per gloss, so ``n_steps`` sets the price (see
    ``benchmarks/bench_attribution.py``).
    """
    options = {"n_steps": n_steps, "internal_batch_size": internal_batch_size, "clip_ids": clip_ids}
    signed = signed_gradient_attributions("integrated_gradients", model, batch, sequences, **options)
    return [np.abs(clip).sum(-1) for clip in signed]


# -- Occlusion (Captum) ---------------------------------------------------------------------------------------------


@attribution_method()
def occlusion(
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    *,
    window: int = 3,
    stride: int = 3,
    perturbations_per_eval: int = 4,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Drop in log p(gloss k) when a window of ``window`` frames is removed, positive part (Captum ``Occlusion``).

    Frames are removed by masking them out of every attention, not by replacing them with some "neutral" pose: the
    model then sees exactly the clip without those frames. Captum slides the window with ``stride`` and gives each
    frame the mean drop of the windows covering it; all glosses of all clips are explained in the same passes. The
    default, non-overlapping 3-frame windows, costs a third of a 1-frame stride (measured, 64 SI test clips: 4.0 vs
    11.4 CPU seconds) and keeps a resolution well below a gloss (~14 model frames on synthetic GSL).
    """
    from captum.attr import Occlusion

    decoded = decoded_batch(model, batch, sequences, clip_ids)
    for row, frames in enumerate(decoded.num_frames):
        if frames <= window:
            raise ValueError(
                f"{clip_name(row, clip_ids)}: {frames} frames, not more than the occlusion window ({window}); "
                "removing a window would remove the whole clip"
            )

    def forward(
        keep: torch.Tensor, features: torch.Tensor, mask: torch.Tensor, inputs, targets
    ) -> torch.Tensor:
        return gloss_log_probs(model, features, mask * keep, inputs, targets)

    keep = torch.ones(decoded.attention_mask.shape, device=decoded.input_features.device)
    with torch.no_grad():
        drops = Occlusion(forward).attribute(
            keep,
            sliding_window_shapes=(window,),
            strides=(stride,),
            baselines=0.0,
            additional_forward_args=(
                decoded.input_features,
                decoded.attention_mask.to(keep.dtype),
                decoded.decoder_input_ids,
                decoded.targets,
            ),
            perturbations_per_eval=perturbations_per_eval,
        )
    # A multi-output forward gets one attribution row per output: (batch * max glosses, frames).
    drops = drops.reshape(len(decoded.num_glosses), decoded.targets.shape[1], -1)
    return decoded.crop(drops.clamp(min=0))


# -- One entry point ------------------------------------------------------------------------------------------------

METHODS = tuple(REGISTRY)
GRADIENT_METHODS = tuple(name for name, method in REGISTRY.items() if method.gradients)


def resolve_method(name: str) -> tuple[AttributionMethod, int | None]:
    """A method name (one of :data:`METHODS`, or one head of a head-reading method by its :func:`head_method` name,
    e.g. ``"value_norm_head1"``) -> the method and the head it reads (``None``: all), or a ValueError listing the
    known names."""
    base, head = split_head_method(name)
    if base not in REGISTRY:
        raise ValueError(
            f"unknown attribution method {name!r}; known: {list(METHODS)}, or one head of "
            f"{' or '.join(HEAD_METHODS)} (e.g. {head_method(HEAD_METHODS[0], 0)!r})"
        )
    return REGISTRY[base], head


def check_method(method: str) -> Callable[..., list[np.ndarray]]:
    """The function of a method name (:func:`resolve_method`), its head bound when the name names one."""
    resolved, head = resolve_method(method)
    return resolved.function if head is None else partial(resolved.function, head=head)


def head_methods(num_heads: int) -> list[str]:
    """Every method that reads one cross-attention head, for a model with ``num_heads`` heads."""
    return [head_method(method, head) for method in HEAD_METHODS for head in range(num_heads)]


def attribute(
    method: str, model: Any, batch: Any, sequences: torch.Tensor, **options: Any
) -> list[np.ndarray]:
    """Run the attribution method named ``method`` (one of :data:`METHODS`) on a batch; options go to it."""
    return check_method(method)(model, batch, sequences, **options)


def sequences_from_ids(token_ids: Sequence[Sequence[int]], config: Any) -> torch.Tensor:
    """Decoded glosses (ids, no special tokens) -> generate()-style rows: start token, glosses, ``</s>``, padding."""
    longest = max(len(ids) for ids in token_ids)
    rows = torch.full((len(token_ids), longest + 2), config.pad_token_id, dtype=torch.long)
    rows[:, 0] = config.decoder_start_token_id
    for row, ids in enumerate(token_ids):
        rows[row, 1 : len(ids) + 1] = torch.tensor(list(ids), dtype=torch.long)
        rows[row, len(ids) + 1] = config.eos_token_id
    return rows


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of similar length: a batch is padded to its longest clip, so sorting saves the padding
    that every occlusion window and integration step would otherwise pay for."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size].tolist()


def _clip_length(pose: Any) -> int:
    """Frames of a pose array ``(frames, points, 3)`` or of a ``pose_format.Pose``."""
    return int(pose.body.data.shape[0]) if hasattr(pose, "body") else int(np.shape(pose)[0])


# One batch of clip_batches: the clips' indices, the feature-extractor batch, the decoded sequences, the clip names.
ClipBatch = tuple[list[int], Any, torch.Tensor, list[str]]


def clip_batches(
    model: Any,
    feature_extractor: Any,
    poses: Sequence[Any],
    token_ids: Sequence[Sequence[int]],
    *,
    clip_ids: Sequence[str] | None = None,
    input_components: Sequence[str] | None = None,
    batch_size: int = 64,
) -> list[ClipBatch]:
    """Batches of clips of similar length: (indices, feature-extractor batch, decoded sequences, clip names).

    Made once and read by every method and every deletion pass of a split (:func:`map_clips`): preprocessing the
    clips again for each one was half of ``hub_scripts.interpret``'s time (measured: the feature extractor ran
    35,882 times on the sentence-disjoint test and validation splits, 124 of 254 profiled seconds).
    """
    if len(poses) != len(token_ids):
        raise ValueError(f"got {len(token_ids)} decoded sequences for {len(poses)} clips")
    if clip_ids is not None and len(clip_ids) != len(poses):
        raise ValueError(f"got {len(clip_ids)} clip ids for {len(poses)} clips")
    model.eval()
    batches = []
    for indices in length_sorted_batches([_clip_length(pose) for pose in poses], batch_size):
        batch = feature_extractor([poses[i] for i in indices], input_components=input_components)
        sequences = sequences_from_ids([token_ids[i] for i in indices], model.config)
        names = [clip_ids[i] if clip_ids is not None else str(i) for i in indices]
        batches.append((indices, batch, sequences, names))
    return batches


def map_clips(
    compute: Callable[[list[int], Any, torch.Tensor, list[str]], Sequence[Any]],
    batches: Sequence[ClipBatch],
    description: str | None = None,
) -> list[Any]:
    """``compute(indices, batch, sequences, clip names)``, one result per clip of the batch, over the batches of
    :func:`clip_batches`; the results come back in the clips' order, not the batches' length order.
    ``description`` shows a progress bar with that title."""
    results: list[Any] = [None] * sum(len(indices) for indices, *_ in batches)
    if description is not None:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc=description, unit="batch")
    for indices, batch, sequences, names in batches:
        for index, result in zip(indices, compute(indices, batch, sequences, names), strict=True):
            results[index] = result
    return results


def attribute_clips(
    method: str,
    model: Any,
    feature_extractor: Any,
    poses: Sequence[Any],
    token_ids: Sequence[Sequence[int]],
    *,
    clip_ids: Sequence[str] | None = None,
    input_components: Sequence[str] | None = None,
    batch_size: int = 64,
    progress: bool = False,
    **options: Any,
) -> list[np.ndarray]:
    """Maps of ``method`` for many clips and their decoded glosses, in their order (batched by clip length)."""
    function = check_method(method)
    return map_clips(
        lambda indices, batch, sequences, names: function(model, batch, sequences, clip_ids=names, **options),
        clip_batches(
            model,
            feature_extractor,
            poses,
            token_ids,
            clip_ids=clip_ids,
            input_components=input_components,
            batch_size=batch_size,
        ),
        description=f"attribution: {method}" if progress else None,
    )


__all__ = [
    "GRADIENT_METHODS",
    "HEAD_METHODS",
    "METHODS",
    "REGISTRY",
    "AttributionMethod",
    "ClipBatch",
    "DecodedBatch",
    "articulator_maps",
    "articulator_slices",
    "attention",
    "attribute",
    "attribute_clips",
    "attribution_method",
    "check_method",
    "head_methods",
    "clip_batches",
    "decoded_batch",
    "gloss_log_probs",
    "input_x_gradient",
    "integrated_gradients",
    "length_sorted_batches",
    "map_clips",
    "occlusion",
    "resolve_method",
    "rollout",
    "sequences_from_ids",
    "signed_gradient_attributions",
    "value_norm",
]
