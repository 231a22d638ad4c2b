"""The model against an independent rebuild of the official architecture, and its contracts.

The reference (``hub_scripts/official_reference.py``) is ``torch.nn.Transformer`` + two Conv1d + sinusoidal tables with
the official parameter names; its weights reach our model through the checkpoint converter, so these tests check
the converter and the architecture together.
"""

from __future__ import annotations

import pytest
import torch

from hub_scripts.convert_official_checkpoint import convert, convert_state_dict, infer_config
from hub_scripts.official_reference import KeypointsTransformer, greedy_decode_no_cache
from modeling_signattention import SignAttentionConfig, SignAttentionForConditionalGeneration

VOCAB = 30
BOS, EOS = 2, 3


@pytest.fixture(scope="module")
def pair() -> tuple[KeypointsTransformer, SignAttentionForConditionalGeneration]:
    torch.manual_seed(0)
    reference = KeypointsTransformer(vocab_size=VOCAB).eval()
    state = reference.state_dict()
    config = infer_config(state)
    ours = SignAttentionForConditionalGeneration(config).eval()
    ours.load_state_dict(convert_state_dict(state, config), strict=True)
    return reference, ours


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(4, 60, 225, generator=generator)
    mask = torch.ones(4, 60, dtype=torch.long)
    mask[1, 45:] = 0
    mask[2, 12:] = 0
    mask[3, 1:] = 0
    features[mask == 0] = 0.0
    return features, mask


def test_converter_infers_the_paper_architecture(pair):
    config = pair[1].config
    assert (config.num_features, config.embedder_width, config.d_model, config.ffn_dim) == (
        225,
        128,
        16,
        2048,
    )
    assert (config.encoder_layers, config.decoder_layers, config.num_heads) == (1, 1, 8)
    assert (config.max_source_positions, config.max_target_positions, config.vocab_size) == (220, 20, VOCAB)
    defaults = SignAttentionConfig(vocab_size=VOCAB)
    for field in (
        "num_features",
        "embedder_width",
        "d_model",
        "ffn_dim",
        "num_heads",
        "dropout",
        "activation_function",
    ):
        assert getattr(defaults, field) == getattr(config, field), field


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_logits_equal_reference_with_padding(pair, batch, attn_implementation):
    reference, ours = pair
    ours.set_attn_implementation(attn_implementation)
    features, mask = batch
    targets = torch.randint(4, VOCAB, (4, 9), generator=torch.Generator().manual_seed(2))
    targets[:, 0] = BOS
    with torch.no_grad():
        expected = reference(features, targets, mask == 0)
        got = ours(features, attention_mask=mask, decoder_input_ids=targets).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_greedy_generate_equals_official_no_cache_loop(pair, batch):
    reference, ours = pair
    features, mask = batch
    expected = greedy_decode_no_cache(reference, features, mask == 0, BOS, EOS, max_len=20)
    got = ours.generate(features, attention_mask=mask)
    assert torch.equal(got[:, : expected.shape[1]], expected)
    assert (got[:, expected.shape[1] :] == 0).all()


def test_beam_one_equals_greedy_and_cache_equals_no_cache(pair, batch):
    _, ours = pair
    features, mask = batch
    greedy = ours.generate(features, attention_mask=mask)
    assert torch.equal(ours.generate(features, attention_mask=mask, num_beams=1, do_sample=False), greedy)
    assert torch.equal(ours.generate(features, attention_mask=mask, use_cache=False), greedy)
    beams_cached = ours.generate(features, attention_mask=mask, num_beams=4)
    beams_uncached = ours.generate(features, attention_mask=mask, num_beams=4, use_cache=False)
    assert torch.equal(beams_cached, beams_uncached)


def test_cached_step_costs_one_token(pair, batch):
    """With a cache, each decoding step feeds the decoder exactly one new token."""
    _, ours = pair
    features, mask = batch
    seen_lengths = []
    hook = ours.model.decoder.register_forward_pre_hook(
        lambda module, args, kwargs: seen_lengths.append(args[0].shape[1]), with_kwargs=True
    )
    try:
        ours.generate(features, attention_mask=mask, min_length=10, max_length=10)
    finally:
        hook.remove()
    assert seen_lengths == [1] * 9


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_returns_every_attention_per_step(pair, batch, num_beams):
    _, ours = pair
    ours.set_attn_implementation("sdpa")  # asking for attentions must still return them
    features, mask = batch
    out = ours.generate(
        features,
        attention_mask=mask,
        num_beams=num_beams,
        output_attentions=True,
        return_dict_in_generate=True,
    )
    steps = out.sequences.shape[1] - 1
    assert len(out.cross_attentions) == len(out.decoder_attentions) == steps
    rows = 4 * num_beams
    assert out.encoder_attentions[0].shape == (4, 8, 60, 60)  # the encoder runs once, before beams expand
    for step, (self_layers, cross_layers) in enumerate(
        zip(out.decoder_attentions, out.cross_attentions, strict=True)
    ):
        assert cross_layers[0].shape == (rows, 8, 1, 60)
        assert self_layers[0].shape == (rows, 8, 1, step + 1)
        torch.testing.assert_close(cross_layers[0].sum(-1), torch.ones(rows, 8, 1))
    padded = (mask == 0).float()
    padded_per_row = padded.repeat_interleave(num_beams, dim=0)[:, None, None, :]
    for cross_layers in out.cross_attentions:
        assert (cross_layers[0] * padded_per_row).sum() == 0  # padded frames get exactly zero attention
    assert (out.encoder_attentions[0] * padded[:, None, None, :]).sum() == 0
    torch.testing.assert_close(out.encoder_attentions[0].sum(-1), torch.ones(4, 8, 60))


def test_forward_attentions_and_block_outputs(pair, batch):
    _, ours = pair
    features, mask = batch
    targets = torch.tensor([[BOS, 5, 6, 7]] * 4)
    out = ours(
        features,
        attention_mask=mask,
        decoder_input_ids=targets,
        output_attentions=True,
        output_block_outputs=True,
    )
    assert out.decoder_attentions[0].shape == (4, 8, 4, 4)
    assert torch.all(out.decoder_attentions[0].triu(diagonal=1) == 0)  # causal
    torch.testing.assert_close(out.cross_attentions[0].sum(-1), torch.ones(4, 8, 4))
    assert (
        out.decoder_self_attention_outputs[0].shape
        == out.decoder_cross_attention_outputs[0].shape
        == (4, 4, 16)
    )
    # The block outputs are what is added to the residual stream: rebuild the decoder layer's first norm from them.
    layer = ours.model.decoder.layers[0]
    embedded = ours.model.decoder.embed_tokens(targets) * 4.0
    from modeling_signattention.modeling_signattention import sinusoidal_positions

    embedded = embedded + sinusoidal_positions(0, 4, 16, embedded.device)
    residual = layer.self_attn_layer_norm(embedded + out.decoder_self_attention_outputs[0])
    recomputed_cross, _ = layer.encoder_attn(
        residual,
        (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min,
        key_value_states=out.encoder_last_hidden_state,
    )
    torch.testing.assert_close(recomputed_cross, out.decoder_cross_attention_outputs[0], atol=1e-5, rtol=0)


def test_training_gradients_equal_reference_with_padding(pair, batch):
    """Backward through the CPU paths (feed-forward in blocks, real frames only, linear embedder) gives the
    reference's gradients, for every weight and for the input (what gradient attributions read)."""
    reference, ours = pair
    features, mask = batch
    labels = torch.tensor([[5, 6, EOS, 0], [5, EOS, -100, -100], [7, 8, 9, EOS], [4, EOS, 0, 0]])
    decoder_input = torch.tensor([[BOS, 5, 6, EOS], [BOS, 5, EOS, 0], [BOS, 7, 8, 9], [BOS, 4, EOS, 0]])
    reference.zero_grad()
    ours.zero_grad()
    reference_features = features.clone().requires_grad_()
    logits = reference(reference_features, decoder_input, mask == 0)  # eval mode: dropout off on both sides
    keep = (labels != 0) & (labels != -100)
    torch.nn.functional.cross_entropy(logits[keep], labels[keep]).backward()
    our_features = features.clone().requires_grad_()
    ours(our_features, attention_mask=mask, labels=labels.masked_fill(labels == 0, -100)).loss.backward()

    torch.testing.assert_close(our_features.grad, reference_features.grad, atol=1e-6, rtol=1e-4)
    reference_grads = {name: param.grad for name, param in reference.named_parameters()}
    expected = convert_state_dict(reference_grads, ours.config)
    for name, param in ours.named_parameters():
        torch.testing.assert_close(param.grad, expected[name], atol=1e-6, rtol=1e-4, msg=name)


def test_feed_forward_in_blocks_with_dropout_equals_plain_modules():
    """The blocked feed-forward with dropout: the same outputs and gradients as fc1 -> relu -> mask -> fc2 built
    from the same keep-masks (drawn again from the same seed, block by block), and a keep rate of 1 - p."""
    from modeling_signattention.cpu_kernels import dropout_keep_mask
    from modeling_signattention.modeling_signattention import SignAttentionFeedForward

    config = SignAttentionConfig(dropout=0.2)
    torch.manual_seed(0)
    feed_forward = SignAttentionFeedForward(config).train()
    block = feed_forward.block_rows_per_thread * torch.get_num_threads()
    hidden = torch.randn(2, block + block // 4, config.d_model, requires_grad=True)  # 2.5 blocks of rows
    torch.manual_seed(7)
    output = feed_forward(hidden)
    output.pow(2).sum().backward()
    grads = [hidden.grad, *(p.grad for p in feed_forward.parameters())]

    torch.manual_seed(7)
    rows = hidden.detach().reshape(-1, config.d_model).requires_grad_()
    inner = torch.relu(feed_forward.fc1(rows))
    masks = [dropout_keep_mask(part.shape, 0.2) for part in inner.split(block)]
    dropped = torch.cat(
        [part * keep * scale for part, (keep, scale) in zip(inner.split(block), masks, strict=True)]
    )
    feed_forward.zero_grad()
    expected = feed_forward.fc2(dropped)
    expected.pow(2).sum().backward()
    expected_grads = [rows.grad.view_as(hidden), *(p.grad for p in feed_forward.parameters())]

    torch.testing.assert_close(output, expected.view_as(output))
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    keep_rate = torch.cat([keep.flatten() for keep, _ in masks]).float().mean().item()
    assert abs(keep_rate - 0.8) < 0.005


def test_loss_ignores_padding(pair, batch):
    _, ours = pair
    features, mask = batch
    labels = torch.tensor([[5, 6, EOS, 0], [5, EOS, -100, -100], [7, 8, 9, EOS], [4, EOS, 0, 0]])
    loss = ours(features, attention_mask=mask, labels=labels).loss
    logits = ours(features, attention_mask=mask, labels=labels).logits
    keep = (labels != 0) & (labels != -100)
    expected = torch.nn.functional.cross_entropy(logits[keep], labels[keep])
    torch.testing.assert_close(loss, expected)


def test_converter_cli_on_lightning_checkpoint(pair, batch, tmp_path):
    reference, ours = pair
    checkpoint = tmp_path / "best.ckpt"
    torch.save(
        {"state_dict": {f"model.{k}": v for k, v in reference.state_dict().items()}, "epoch": 3}, checkpoint
    )
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["<pad>", "<unk>", "<bos>", "<eos>"] + [f"G{i}" for i in range(VOCAB - 4)]) + "\n"
    )
    folder = convert(checkpoint, vocab, tmp_path / "converted")
    loaded = SignAttentionForConditionalGeneration.from_pretrained(folder).eval()
    features, mask = batch
    assert torch.equal(
        loaded.generate(features, attention_mask=mask), ours.generate(features, attention_mask=mask)
    )
    vocab.write_text("<pad>\n<unk>\n<bos>\n<eos>\nG0\n")
    with pytest.raises(ValueError, match="5 tokens but the checkpoint's generator has 30"):
        convert(checkpoint, vocab, tmp_path / "bad")


def test_bad_inputs_raise_clear_errors(pair, batch):
    _, ours = pair
    features, mask = batch
    bos = torch.tensor([[BOS]] * 4)
    with pytest.raises(ValueError, match="224 features per frame, the model expects 225"):
        ours(features[..., :224], attention_mask=mask, decoder_input_ids=bos)
    with pytest.raises(ValueError, match="0 frames"):
        ours(features[:, :0], decoder_input_ids=bos)
    with pytest.raises(ValueError, match=r"masks every frame of sample\(s\) \[2\]"):
        ours(features, attention_mask=mask * torch.tensor([[1], [1], [0], [1]]), decoder_input_ids=bos)
    nan_features = features.clone()
    nan_features[0, 3, 7] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ours(nan_features, attention_mask=mask, decoder_input_ids=bos)
    infinities = features.clone()
    infinities[0, 3, 7], infinities[1, 2, 5] = float("inf"), float("-inf")  # their sum is NaN, not inf
    with pytest.raises(ValueError, match="NaN or inf"):
        ours(infinities, attention_mask=mask, decoder_input_ids=bos)
    with pytest.raises(ValueError, match=r"decoder_input_ids has token ids in \[2, 99\]"):
        ours(features, attention_mask=mask, decoder_input_ids=torch.tensor([[BOS, 99]] * 4))
    with pytest.raises(ValueError, match="labels has token ids"):
        ours(features, attention_mask=mask, labels=torch.tensor([[-5, EOS]] * 4))
    with pytest.raises(ValueError, match="more than max_source_positions=220"):
        ours(torch.zeros(1, 221, 225), decoder_input_ids=bos[:1])
    with pytest.raises(ValueError, match="d_model"):
        SignAttentionConfig(d_model=20, num_heads=8)


def test_finite_features_whose_sum_overflows_are_accepted(pair, batch):
    """The input check sums the features first: a sum that overflows float32 is not a bad value, and the exact
    check after it lets the batch through."""
    _, ours = pair
    features, mask = batch
    huge = features.clone()
    huge[0, :2, :2] = 3e38  # finite, but four of them overflow a float32 sum
    assert not torch.isfinite(huge.sum()) and torch.isfinite(huge).all()
    bos = torch.tensor([[BOS]] * 4)
    with torch.no_grad():
        logits = ours(huge, attention_mask=mask, decoder_input_ids=bos).logits
    assert logits.shape == (4, 1, VOCAB)
