"""Attribution methods, baselines and deletion faithfulness on hand-built cases whose answer is known.

The central case is a real ``SignAttentionForConditionalGeneration`` whose weights are set by hand so that every
gloss depends on one frame of the clip only (the "key frame"): every faithful method must put its peak there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from modeling_signattention import SignAttentionConfig, SignAttentionForConditionalGeneration
from modeling_signattention.interpretability import compute_attention_alignment
from modeling_signattention.interpretability.attribution import (
    GRADIENT_METHODS,
    METHODS,
    REGISTRY,
    articulator_maps,
    attribute,
    gloss_log_probs,
    head_methods,
    resolve_method,
    sequences_from_ids,
    signed_gradient_attributions,
    value_norm,
)
from modeling_signattention.interpretability.baselines import baseline_maps, diagonal_prior_map, uniform_map
from modeling_signattention.interpretability.faithfulness import deletion_drops, frames_to_remove
from modeling_signattention.layouts import HOLISTIC

GLOSS = 4  # the one gloss the key-frame model predicts (ids 0-3 are <pad> <unk> <s> </s>)
# The model reads its signal from the right hand: the landmarks after the body (33) and the left hand (21).
RIGHT_HAND = HOLISTIC.num_points(["POSE_LANDMARKS", "LEFT_HAND_LANDMARKS"]) * 3
D_MODEL = 16
KEY_FRAMES = (7, 2)  # per clip of the batch
CLIP_FRAMES = (12, 9)  # the second clip is padded to 12


def key_frame_model() -> SignAttentionForConditionalGeneration:
    """Every gloss depends on the key frame only.

    The embedder copies 16 right-hand coordinates to the model width; the encoder does not mix frames (its
    self-attention and feed-forward add nothing), so each encoder state is the LayerNorm of its own frame. The key
    frame's features point one way (``w``), every other frame's the opposite way (``-w``). The decoder's
    cross-attention query is ``10 w`` for every gloss, so it attends to the key frame alone, and the output layer
    makes gloss 4 likely when the cross-attention brings ``w`` (p ~ 0.55) and unlikely when it brings ``-w``.
    """
    torch.manual_seed(0)
    config = SignAttentionConfig(
        vocab_size=6, ffn_dim=8, embedder_width=32, dropout=0.0, attention_dropout=0.0, positional_dropout=0.0
    )
    model = SignAttentionForConditionalGeneration(config).eval()
    w = torch.cat([torch.ones(8), -torch.ones(8)])
    with torch.no_grad():
        embedder = model.model.encoder.embedder
        embedder.conv_in.weight.zero_()
        embedder.conv_in.bias.zero_()
        embedder.conv_out.weight.zero_()
        embedder.conv_out.bias.zero_()
        for i in range(D_MODEL):
            embedder.conv_in.weight[i, RIGHT_HAND + i, 0] = 1.0
            embedder.conv_out.weight[i, i, 0] = 1.0
        for layer in model.model.encoder.layers:
            for linear in (layer.self_attn.out_proj, layer.feed_forward.fc2):
                linear.weight.zero_()
                linear.bias.zero_()
        layer = model.model.decoder.layers[0]
        cross = layer.encoder_attn
        cross.q_proj.weight.zero_()
        cross.q_proj.bias.copy_(10 * w)
        for linear, scale in ((cross.k_proj, 1.0), (cross.v_proj, 1.0), (cross.out_proj, 100.0)):
            linear.weight.copy_(scale * torch.eye(D_MODEL))
            linear.bias.zero_()
        layer.feed_forward.fc2.weight.zero_()
        layer.feed_forward.fc2.bias.zero_()
        model.lm_head.weight.zero_()
        model.lm_head.bias.zero_()
        model.lm_head.weight[GLOSS] = 0.1 * w
        model.lm_head.bias[config.eos_token_id] = -100.0
    return model


def key_frame_batch() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Two clips (12 and 9 frames, the second padded), 3 and 2 predicted glosses."""
    features = torch.zeros(2, max(CLIP_FRAMES), 225)
    mask = torch.zeros(2, max(CLIP_FRAMES), dtype=torch.long)
    for row, (frames, key) in enumerate(zip(CLIP_FRAMES, KEY_FRAMES, strict=True)):
        features[row, :frames, RIGHT_HAND + 8 : RIGHT_HAND + 16] = 100.0  # -w after the LayerNorm
        features[row, key, RIGHT_HAND + 8 : RIGHT_HAND + 16] = 0.0
        features[row, key, RIGHT_HAND : RIGHT_HAND + 8] = 100.0  # w
        mask[row, :frames] = 1
    config = SignAttentionConfig(vocab_size=6)
    return {"input_features": features, "attention_mask": mask}, sequences_from_ids(
        [[GLOSS] * 3, [GLOSS] * 2], config
    )


@pytest.fixture(scope="module")
def key_frame() -> tuple[SignAttentionForConditionalGeneration, dict[str, torch.Tensor], torch.Tensor]:
    return (key_frame_model(), *key_frame_batch())


def test_key_frame_model_really_depends_on_the_key_frame(key_frame) -> None:
    model, batch, sequences = key_frame
    generated = model.generate(**batch, max_length=4)
    assert generated[0, 1:].tolist() == [GLOSS] * 3
    inputs, targets = sequences[:, :3], sequences[:, 1:4]
    intact = gloss_log_probs(model, batch["input_features"], batch["attention_mask"], inputs, targets)
    without_key = batch["attention_mask"].clone()
    without_key[0, KEY_FRAMES[0]] = without_key[1, KEY_FRAMES[1]] = 0
    hidden = gloss_log_probs(model, batch["input_features"], without_key, inputs, targets)
    without_other = batch["attention_mask"].clone()
    without_other[0, 0] = without_other[1, 5] = 0
    other = gloss_log_probs(model, batch["input_features"], without_other, inputs, targets)
    real = torch.tensor([[True] * 3, [True] * 2 + [False]])  # clip 1 predicts 2 glosses
    assert (intact - hidden)[real].min() > 2  # the key frame carries the gloss ...
    torch.testing.assert_close(other[real], intact[real], atol=1e-5, rtol=0)  # ... no other frame does


@pytest.mark.parametrize("method", METHODS)
def test_every_method_puts_the_peak_on_the_key_frame(key_frame, method: str) -> None:
    model, batch, sequences = key_frame
    maps = attribute(method, model, batch, sequences)
    assert [m.shape for m in maps] == [(3, 12), (2, 9)]  # glosses x frames, padding removed
    for clip_map, key in zip(maps, KEY_FRAMES, strict=True):
        assert (clip_map >= 0).all()
        # The key frame holds the row's maximum (occlusion shares it with its 3-frame window) ...
        np.testing.assert_array_equal(clip_map[:, key], clip_map.max(axis=1))
        # ... and no frame away from it comes close.
        away = np.abs(np.arange(clip_map.shape[1]) - key) > 2
        assert (clip_map[:, away].max(axis=1) < 0.5 * clip_map[:, key]).all(), clip_map.round(3)


def test_raw_attention_is_one_hot_and_rollout_keeps_half_for_the_residual(key_frame) -> None:
    model, batch, sequences = key_frame
    attention = attribute("attention", model, batch, sequences)
    np.testing.assert_allclose(attention[0], np.eye(12)[[7, 7, 7]], atol=1e-6)
    one_head = attribute("attention", model, batch, sequences, head=3)
    np.testing.assert_allclose(one_head[1], np.eye(9)[[2, 2]], atol=1e-6)
    rollout = attribute("rollout", model, batch, sequences)
    # Rollout row = cross-attention (one-hot on the key frame) x (encoder attention + identity) / 2.
    assert rollout[0][0, 7] >= 0.5 - 1e-6
    np.testing.assert_allclose(rollout[0].sum(axis=1), 1.0, atol=1e-5)


def test_value_norm_is_the_norm_of_each_frames_share_of_the_block_output() -> None:
    """Independent reference: recompute the cross-attention block with the values of all frames but one zeroed;
    the block output (bias removed) is then exactly that frame's share."""
    torch.manual_seed(1)
    model = SignAttentionForConditionalGeneration(
        SignAttentionConfig(vocab_size=8, ffn_dim=16, embedder_width=16)
    ).eval()
    batch = {"input_features": torch.randn(1, 6, 225), "attention_mask": torch.ones(1, 6, dtype=torch.long)}
    sequences = sequences_from_ids([[4, 5]], model.config)
    maps = value_norm(model, batch, sequences)[0]
    outputs = model(**batch, decoder_input_ids=sequences[:, :2], output_attentions=True, use_cache=False)
    block = model.model.decoder.layers[0].encoder_attn
    weights = outputs.cross_attentions[0][0]  # (heads, glosses, frames)
    values = block._split_heads(block.v_proj(outputs.encoder_last_hidden_state))[
        0
    ]  # (heads, frames, head_dim)
    for frame in range(6):
        only = torch.zeros_like(values)
        only[:, frame] = values[:, frame]
        merged = (weights @ only).transpose(0, 1).reshape(2, -1)  # (glosses, d_model)
        share = block.out_proj(merged) - block.out_proj.bias
        np.testing.assert_allclose(maps[:, frame], share.norm(dim=-1).detach().numpy(), rtol=1e-5, atol=1e-7)


def test_a_head_method_is_that_heads_share_alone() -> None:
    """``attention_head{k}`` is head k's weights as the model returns them; ``value_norm_head{k}`` the norm of what
    head k alone brings from each frame (the block recomputed with every other head's values zeroed)."""
    torch.manual_seed(2)
    model = SignAttentionForConditionalGeneration(
        SignAttentionConfig(vocab_size=8, ffn_dim=16, embedder_width=16)
    ).eval()
    batch = {"input_features": torch.randn(1, 6, 225), "attention_mask": torch.ones(1, 6, dtype=torch.long)}
    sequences = sequences_from_ids([[4, 5, 6]], model.config)
    outputs = model(**batch, decoder_input_ids=sequences[:, :3], output_attentions=True, use_cache=False)
    weights = outputs.cross_attentions[0][0]  # (heads, glosses, frames)
    block = model.model.decoder.layers[0].encoder_attn
    values = block._split_heads(block.v_proj(outputs.encoder_last_hidden_state))[0]
    for head in (0, 5):
        np.testing.assert_allclose(
            attribute(f"attention_head{head}", model, batch, sequences)[0],
            weights[head].detach().numpy(),
            atol=1e-7,
        )
        only = torch.zeros_like(values)
        only[head] = values[head]
        expected = torch.stack(
            [
                (
                    block.out_proj((weights[:, :, [frame]] @ only[:, [frame]]).transpose(0, 1).reshape(3, -1))
                    - block.out_proj.bias
                ).norm(dim=-1)
                for frame in range(6)
            ],
            dim=1,
        )
        np.testing.assert_allclose(
            attribute(f"value_norm_head{head}", model, batch, sequences)[0],
            expected.detach().numpy(),
            rtol=1e-5,
            atol=1e-7,
        )
    assert head_methods(2) == ["attention_head0", "attention_head1", "value_norm_head0", "value_norm_head1"]
    for name, message in (
        ("rollout_head1", "unknown attribution method 'rollout_head1'"),
        ("attention_headx", "unknown attribution method 'attention_headx'"),
        ("attention_head8", "head 8 does not exist: the model has 8 attention heads"),
    ):
        with pytest.raises(ValueError, match=message):
            attribute(name, model, batch, sequences)


def test_integrated_gradients_completeness() -> None:
    """Captum IG: the attributions of gloss k sum to log p(k | clip) - log p(k | all landmarks missing).

    In float64, so that what is left is the quadrature error of the integral, not float32 rounding; the ReLUs make
    the integrand piecewise smooth, so the error shrinks slowly with the steps (measured: 0.6 % at 64, 0.05 % at
    1024), hence 512 steps.
    """
    torch.manual_seed(2)
    model = SignAttentionForConditionalGeneration(
        SignAttentionConfig(vocab_size=8, ffn_dim=16, embedder_width=16)
    ).eval()
    model.double()
    mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2])
    features = 5 * torch.randn(2, 7, 225, dtype=torch.float64) * mask[..., None]
    batch = {"input_features": features, "attention_mask": mask}
    sequences = sequences_from_ids([[4, 5, 6], [7]], model.config)
    signed = signed_gradient_attributions("integrated_gradients", model, batch, sequences, n_steps=512)
    inputs, targets = sequences[:, :3], sequences[:, 1:4]
    with torch.no_grad():
        clip = gloss_log_probs(model, batch["input_features"], mask, inputs, targets)
        empty = gloss_log_probs(model, torch.zeros_like(batch["input_features"]), mask, inputs, targets)
    for row, attributions in enumerate(signed):
        glosses = attributions.shape[0]
        expected = (clip - empty)[row, :glosses].numpy()
        assert np.abs(expected).min() > 1e-4  # a real change to explain
        np.testing.assert_allclose(attributions.sum(axis=(1, 2)), expected, rtol=2e-3, atol=5e-5)


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_one_pass_per_clip_equals_captum_run_once_per_gloss(method: str) -> None:
    """The shared-forward gradients (one model pass per clip, all glosses' backward passes batched) give what
    Captum gives on the plain per-gloss layout: one row per (clip, gloss), ``target`` = the gloss position.

    Three clips of different lengths and gloss counts, explained two at a time, so a call mixes gloss counts and
    pads frames.
    """
    from captum.attr import InputXGradient, IntegratedGradients

    torch.manual_seed(3)
    model = SignAttentionForConditionalGeneration(
        SignAttentionConfig(vocab_size=9, ffn_dim=32, embedder_width=16)
    ).eval()
    model.double()
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3, [1] * 7 + [0]])
    batch = {
        "input_features": torch.randn(3, 8, 225, dtype=torch.float64) * mask[..., None],
        "attention_mask": mask,
    }
    glosses = [[4, 5, 6], [7], [8, 4]]
    sequences = sequences_from_ids(glosses, model.config)
    fast = signed_gradient_attributions(method, model, batch, sequences, n_steps=4, internal_batch_size=2)

    def forward(features, clip_mask, inputs, targets):
        return gloss_log_probs(model, features, clip_mask, inputs, targets)

    attributor = IntegratedGradients(forward) if method == "integrated_gradients" else InputXGradient(forward)
    options = (
        {"baselines": 0.0, "n_steps": 4, "method": "gausslegendre"}
        if method == "integrated_gradients"
        else {}
    )
    for clip, clip_glosses in enumerate(glosses):
        frames = int(mask[clip].sum())
        count = len(clip_glosses)
        rows = [clip] * count
        plain = attributor.attribute(
            batch["input_features"][rows].clone().requires_grad_(),
            target=list(range(count)),
            additional_forward_args=(mask[rows], sequences[rows, :count], sequences[rows, 1 : count + 1]),
            **options,
        )
        assert fast[clip].shape == (count, frames, 225)
        np.testing.assert_allclose(fast[clip], plain[:, :frames].detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_articulator_split_finds_the_right_hand(key_frame, method: str) -> None:
    model, batch, sequences = key_frame
    parts = articulator_maps(method, model, batch, sequences)
    assert list(parts[0]) == ["body", "left hand", "right hand"]
    whole = attribute(method, model, batch, sequences)
    for clip_parts, clip_map in zip(parts, whole, strict=True):
        np.testing.assert_allclose(sum(clip_parts.values()), clip_map, rtol=1e-6)
        # Only right-hand landmarks are ever non-zero, so all credit goes to the right hand.
        assert clip_parts["body"].sum() == clip_parts["left hand"].sum() == 0
        assert clip_parts["right hand"].sum() > 0


def test_bad_input_names_the_clip(key_frame) -> None:
    model, batch, sequences = key_frame
    with pytest.raises(ValueError, match="unknown attribution method 'saliency'"):
        attribute("saliency", model, batch, sequences)
    empty = sequences.clone()
    empty[1, 1] = model.config.eos_token_id
    with pytest.raises(ValueError, match="clip 'b': empty prediction"):
        attribute("attention", model, batch, empty, clip_ids=["a", "b"])
    one_frame = {"input_features": batch["input_features"], "attention_mask": batch["attention_mask"].clone()}
    one_frame["attention_mask"][0, 1:] = 0
    for method in METHODS:
        with pytest.raises(ValueError, match="clip 0 of the batch: 1 frame"):
            attribute(method, model, one_frame, sequences)
    model.train()
    try:
        with pytest.raises(ValueError, match="training mode"):
            attribute("attention", model, batch, sequences)
    finally:
        model.eval()


# --- baselines ----------------------------------------------------------------------------------------------------


def test_baselines_are_exact_on_constructed_clips() -> None:
    np.testing.assert_array_equal(uniform_map(2, 4), np.full((2, 4), 0.25))
    prior = diagonal_prior_map(4, 20)  # centres of the four fifths: frames 2, 7, 12, 17
    assert prior.argmax(axis=1).tolist() == [2, 7, 12, 17]
    np.testing.assert_allclose(prior[0, :8], [0.6, 0.8, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0])
    assert diagonal_prior_map(3, 2).argmax(axis=1).tolist() == [
        0,
        0,
        1,
    ]  # more glosses than frames: still a peak
    spans = [[(0, 5), (5, 10), (10, 15), (15, 20)]]
    scores = {
        name: compute_attention_alignment(baseline_maps(name, [(4, 20)]), spans)
        for name in ("uniform", "diagonal_prior")
    }
    assert scores["uniform"]["gold_peak_accuracy"] == pytest.approx(0.25)  # a random frame: 5 in 20
    assert scores["uniform"]["gold_span_mass"] == pytest.approx(0.25)
    assert scores["diagonal_prior"]["gold_peak_accuracy"] == 1.0
    # Row 0: 3.8 of its 4.4 inside frames 0-4; rows 1-2: 3.8 of 5.0; row 3: 3.8 of 4.4 (mirror of row 0).
    assert scores["diagonal_prior"]["gold_span_mass"] == pytest.approx((3.8 / 4.4 * 2 + 3.8 / 5.0 * 2) / 4)
    with pytest.raises(ValueError, match="unknown baseline 'random'"):
        baseline_maps("random", [(1, 3)])


# --- deletion faithfulness ------------------------------------------------------------------------------------------


def test_frames_to_remove_takes_the_top_share_and_breaks_ties_at_random() -> None:
    rng = np.random.default_rng(0)
    row = np.array([0.1, 0.5, 0.2, 0.9, 0.0, 0.3, 0.3, 0.3, 0.3, 0.3])
    assert frames_to_remove(row, 0.2, rng).tolist() == [3, 1]
    assert frames_to_remove(np.ones(2), 0.1, rng).size == 1  # at least one frame, never all
    picks = {tuple(sorted(frames_to_remove(np.ones(10), 0.1, rng).tolist())) for _ in range(50)}
    assert len(picks) > 5  # a flat row is a random order


def test_deletion_drop_of_a_map_on_the_key_frame(key_frame) -> None:
    model, batch, sequences = key_frame
    ramp = [np.tile(np.linspace(0.0, 0.01, frames), (glosses, 1)) for glosses, frames in ((3, 12), (2, 9))]
    for clip_map, key in zip(ramp, KEY_FRAMES, strict=True):
        clip_map[:, key] = 1.0  # key frame first, then the latest frames
    drops = deletion_drops(model, batch, sequences, ramp, fractions=(0.1, 0.2))
    # Independent reference for clip 0, 10 %: ceil(1.2) = 2 frames, the key frame and the last frame.
    mask = batch["attention_mask"].clone()
    mask[0, [7, 11]] = 0
    inputs, targets = sequences[:, :3], sequences[:, 1:4]
    with torch.no_grad():
        intact = gloss_log_probs(model, batch["input_features"], batch["attention_mask"], inputs, targets)
        hidden = gloss_log_probs(model, batch["input_features"], mask, inputs, targets)
    np.testing.assert_allclose(drops[0][:, 0], (intact - hidden)[0].numpy(), rtol=1e-5)
    assert (drops[0] > 2).all() and (drops[1] > 2).all()
    random_order = deletion_drops(
        model, batch, sequences, [uniform_map(3, 12), uniform_map(2, 9)], rng=np.random.default_rng(0)
    )
    assert math.isfinite(random_order[0].sum())
    assert np.mean(np.concatenate(random_order)) < np.mean(np.concatenate(drops))
    with pytest.raises(ValueError, match=r"clip 1 of the batch: map of shape \(3, 9\), expected \(2, 9\)"):
        deletion_drops(model, batch, sequences, [ramp[0], np.ones((3, 9))])


def test_a_method_is_one_registered_definition_and_a_head_is_an_argument() -> None:
    assert METHODS == tuple(REGISTRY) and GRADIENT_METHODS == ("input_x_gradient", "integrated_gradients")
    method, head = resolve_method("value_norm_head1")
    assert (method.name, head, method.reads_heads) == ("value_norm", 1, True)
    assert resolve_method("rollout") == (REGISTRY["rollout"], None) and not REGISTRY["rollout"].reads_heads
    with pytest.raises(ValueError, match="unknown attribution method 'rollout_head1'"):
        resolve_method("rollout_head1")
