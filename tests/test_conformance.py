"""The model behaves like every other transformers model where a user would trip.

transformers' own common testers (``ModelTesterMixin``, ``GenerationTesterMixin``) live in its GitHub repository;
the PyPI sdist ships ``tests/test_modeling_common.py`` but not the ``tests/generation`` and ``tests/exporters``
modules it imports, so they cannot run here without vendoring. These are the same checks, written for this model
after the upstream ones (``tests/test_modeling_common.py``: ``test_attention_outputs``,
``test_hidden_states_output``, ``check_training_gradient_checkpointing``, ``test_resize_tokens_embeddings``,
``test_inputs_embeds_matches_input_ids``, ``test_save_load``; ``tests/exporters/test_export.py``).
"""

from __future__ import annotations

import unittest.mock

import pytest
import torch
from torch.utils.data import Dataset
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments
from transformers.cache_utils import DynamicCache, EncoderDecoderCache, StaticCache
from transformers.modeling_layers import GradientCheckpointingLayer

from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionForConditionalGeneration,
    SignAttentionModel,
)
from modeling_signattention.modeling_signattention import CACHE_NAME

VOCAB = 12
BATCH, FRAMES, TARGET = 2, 7, 4

# transformers 5.25 renamed gradient checkpointing to activation checkpointing (methods, property and training
# argument); the old names warn until v6. The tests speak the installed version's names, as a user's code would.
CHECKPOINTING = (
    "activation_checkpointing"
    if hasattr(SignAttentionForConditionalGeneration, "activation_checkpointing_enable")
    else "gradient_checkpointing"
)


def tiny_config(**overrides) -> SignAttentionConfig:
    values = dict(vocab_size=VOCAB, ffn_dim=32, embedder_width=8, encoder_layers=2, decoder_layers=2)
    return SignAttentionConfig(**{**values, **overrides})


def make_inputs(seed: int = 0, frames: int = FRAMES, target: int = TARGET) -> dict[str, torch.Tensor]:
    """A padded batch: the second clip has 2 padding frames, so masks are exercised everywhere."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(BATCH, frames, tiny_config().num_features, generator=generator)
    attention_mask = torch.ones(BATCH, frames, dtype=torch.long)
    attention_mask[1, -2:] = 0
    labels = torch.randint(4, VOCAB, (BATCH, target), generator=generator)
    labels[:, -1] = 3  # </s>
    return {"input_features": features, "attention_mask": attention_mask, "labels": labels}


def decoder_inputs(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inputs with teacher-forced ``decoder_input_ids`` instead of labels (no loss)."""
    ids = torch.cat([torch.full((BATCH, 1), 2), inputs["labels"][:, :-1]], dim=1)
    return {
        "input_features": inputs["input_features"],
        "attention_mask": inputs["attention_mask"],
        "decoder_input_ids": ids,
    }


@pytest.fixture
def model() -> SignAttentionForConditionalGeneration:
    torch.manual_seed(0)
    return SignAttentionForConditionalGeneration(tiny_config()).eval()


def assert_all_outputs_present(output, config: SignAttentionConfig, frames: int, target: int) -> None:
    heads = config.num_heads
    assert len(output.encoder_attentions) == config.encoder_layers
    assert output.encoder_attentions[0].shape == (BATCH, heads, frames, frames)
    assert len(output.decoder_attentions) == len(output.cross_attentions) == config.decoder_layers
    assert output.decoder_attentions[0].shape == (BATCH, heads, target, target)
    assert output.cross_attentions[0].shape == (BATCH, heads, target, frames)
    # embeddings + one per layer, as upstream's test_hidden_states_output expects
    assert len(output.encoder_hidden_states) == config.encoder_layers + 1
    assert len(output.decoder_hidden_states) == config.decoder_layers + 1


# -- config-driven output flags --------------------------------------------------------------------------------


def test_config_output_flags_are_honoured_by_every_forward(model) -> None:
    inputs = decoder_inputs(make_inputs())
    plain = model(**inputs)
    assert plain.encoder_attentions is None and plain.decoder_hidden_states is None

    model.config.output_attentions = True
    model.config.output_hidden_states = True
    output = model(**inputs)
    assert_all_outputs_present(output, model.config, FRAMES, TARGET)
    torch.testing.assert_close(output.logits, plain.logits, rtol=0, atol=1e-6)  # eager weights, same numbers
    # Attention rows are distributions over the real frames only.
    cross = output.cross_attentions[-1]
    torch.testing.assert_close(cross.sum(-1), torch.ones_like(cross.sum(-1)))
    assert cross[1, ..., -2:].abs().max() == 0

    encoder = model.get_encoder()(inputs["input_features"], attention_mask=inputs["attention_mask"])
    assert len(encoder.attentions) == len(encoder.hidden_states) - 1 == model.config.encoder_layers
    base = model.model(**inputs)
    assert (
        len(base.cross_attentions) == model.config.decoder_layers and base.encoder_hidden_states is not None
    )

    # An explicit argument still wins over the config.
    off = model(**inputs, output_attentions=False, output_hidden_states=False)
    assert (
        off.encoder_attentions is None and off.cross_attentions is None and off.encoder_hidden_states is None
    )


def test_config_output_attentions_reaches_generate(model) -> None:
    inputs = make_inputs()
    inputs.pop("labels")
    model.config.output_attentions = True
    output = model.generate(**inputs, max_length=4, return_dict_in_generate=True)
    steps = output.sequences.shape[1] - 1
    assert len(output.cross_attentions) == steps
    assert output.cross_attentions[0][-1].shape == (BATCH, model.config.num_heads, 1, FRAMES)
    assert len(output.encoder_attentions) == model.config.encoder_layers
    explicit = model.generate(**inputs, max_length=4, return_dict_in_generate=True, output_attentions=True)
    for ours, theirs in zip(output.cross_attentions, explicit.cross_attentions, strict=True):
        torch.testing.assert_close(ours[-1], theirs[-1])


# -- tuple outputs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["argument", "config"])
def test_return_dict_false_returns_the_tuple_of_the_dict(model, where: str) -> None:
    inputs = make_inputs()
    expected = model(**inputs, output_attentions=True)
    if where == "config":
        model.config.return_dict = False
        output = model(**inputs, output_attentions=True)
    else:
        output = model(**inputs, output_attentions=True, return_dict=False)
    assert isinstance(output, tuple)
    loss, logits = output[:2]
    torch.testing.assert_close(loss, expected.loss)
    torch.testing.assert_close(logits, expected.logits)
    assert len(output) == len(expected.to_tuple())
    for ours, theirs in zip(output[3:], expected.to_tuple()[3:], strict=True):  # the cache (2) aside
        torch.testing.assert_close(ours, theirs)
    encoder_output = model.get_encoder()(inputs["input_features"], return_dict=False)
    assert isinstance(encoder_output, tuple) and encoder_output[0].shape == (
        BATCH,
        FRAMES,
        model.config.d_model,
    )
    assert isinstance(model.model(**decoder_inputs(inputs), return_dict=False), tuple)


# -- torch.export and torch.compile ------------------------------------------------------------------------------


def test_export_with_dynamic_shapes_equals_eager(model) -> None:
    """One exported graph for any batch, clip length and target length; the value checks stay eager-only."""
    inputs = decoder_inputs(make_inputs())
    batch, frames, target = (
        torch.export.Dim("batch"),
        torch.export.Dim("frames", max=220),
        torch.export.Dim("target"),
    )
    dynamic_shapes = {
        "input_features": {0: batch, 1: frames},
        "attention_mask": {0: batch, 1: frames},
        "decoder_input_ids": {0: batch, 1: target},
        "use_cache": None,
    }
    with torch.no_grad():
        program = torch.export.export(
            model, (), {**inputs, "use_cache": False}, dynamic_shapes=dynamic_shapes
        )
        for seed, frame_count, target_count in ((0, FRAMES, TARGET), (1, 13, 3)):
            other = decoder_inputs(make_inputs(seed, frame_count, target_count))
            exported = program.module()(**other, use_cache=False)
            torch.testing.assert_close(
                exported.logits, model(**other, use_cache=False).logits, rtol=0, atol=1e-5
            )
    # Eager mode keeps its clear errors.
    bad = dict(inputs, input_features=inputs["input_features"].clone())
    bad["input_features"][0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(**bad)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model(**dict(inputs, decoder_input_ids=inputs["decoder_input_ids"] + VOCAB))


def test_compile_fullgraph_equals_eager(model) -> None:
    """``fullgraph=True`` fails on any graph break, i.e. on any check that reads tensor values. The default cache
    and the attention maps are part of the traced forward. (aot_eager: the trace is what failed; inductor code
    generation of the same graph takes ~45 s on this machine.)"""
    inputs = decoder_inputs(make_inputs())
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        ours = compiled(**inputs, output_attentions=True)
        eager = model(**inputs, output_attentions=True)
    torch.testing.assert_close(ours.logits, eager.logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours.cross_attentions[-1], eager.cross_attentions[-1], rtol=0, atol=1e-5)
    assert getattr(ours, CACHE_NAME).get_seq_length() == TARGET


# -- gradient checkpointing --------------------------------------------------------------------------------------


def test_gradient_checkpointing_recomputes_layers_and_gives_the_same_gradients() -> None:
    """As upstream's check_training_gradient_checkpointing, with dropout on: the checkpoint replays the RNG."""
    torch.manual_seed(0)
    model = SignAttentionForConditionalGeneration(tiny_config(dropout=0.1)).train()
    inputs = make_inputs()

    def gradients() -> dict[str, torch.Tensor]:
        model.zero_grad()
        torch.manual_seed(1)
        model(**inputs).loss.backward()
        return {name: param.grad.clone() for name, param in model.named_parameters()}

    expected = gradients()
    getattr(model, f"{CHECKPOINTING}_enable")()
    assert getattr(model, f"is_{CHECKPOINTING}")
    layers = [module for module in model.modules() if isinstance(module, GradientCheckpointingLayer)]
    assert len(layers) == 4 and all(layer.gradient_checkpointing for layer in layers)
    feed_forward_calls = unittest.mock.Mock(return_value=None)
    layers[0].feed_forward.register_forward_pre_hook(feed_forward_calls)
    checkpointed = gradients()
    assert feed_forward_calls.call_count == 2  # forward, then again during backward
    for name, grad in expected.items():
        torch.testing.assert_close(checkpointed[name], grad, msg=name)
    getattr(model, f"{CHECKPOINTING}_disable")()
    assert not any(layer.gradient_checkpointing for layer in layers)


class ClipDataset(Dataset):
    def __init__(self, size: int):
        self.rows = [{key: value[0] for key, value in make_inputs(seed).items()} for seed in range(size)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.rows[index]


def test_trainer_gradient_checkpointing_trains_like_without(tmp_path) -> None:
    torch.manual_seed(0)
    initial = SignAttentionForConditionalGeneration(tiny_config(dropout=0.1)).state_dict()
    losses, weights = {}, {}
    for checkpointing in (False, True):
        model = SignAttentionForConditionalGeneration(tiny_config(dropout=0.1))
        model.load_state_dict(initial)
        args = Seq2SeqTrainingArguments(
            output_dir=str(tmp_path / str(checkpointing)),
            per_device_train_batch_size=2,
            max_steps=3,
            learning_rate=1e-2,
            **{CHECKPOINTING: checkpointing},
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            use_cpu=True,
            disable_tqdm=True,
        )
        trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=ClipDataset(6))
        trainer.train()
        assert getattr(model, f"is_{CHECKPOINTING}") == checkpointing
        losses[checkpointing] = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        weights[checkpointing] = model.lm_head.weight.detach().clone()
    assert len(losses[True]) == 3
    assert losses[True] == pytest.approx(losses[False], rel=1e-5)
    torch.testing.assert_close(weights[True], weights[False])
    assert not torch.equal(weights[True], initial["lm_head.weight"])


# -- generation cache --------------------------------------------------------------------------------------------


def test_static_cache_is_refused_with_what_to_use(model) -> None:
    inputs = make_inputs()
    inputs.pop("labels")
    with pytest.raises(ValueError, match=r"cache_implementation='static'.*dynamic"):
        model.generate(**inputs, cache_implementation="static", max_length=4)
    static = EncoderDecoderCache(StaticCache(config=model.config, max_cache_len=4), DynamicCache())
    with pytest.raises(ValueError, match="StaticCache is not supported"):
        model(**inputs, decoder_input_ids=torch.full((BATCH, 1), 2), **{CACHE_NAME: static})
    dynamic = model.generate(**inputs, cache_implementation="dynamic", max_length=4)
    torch.testing.assert_close(dynamic, model.generate(**inputs, max_length=4))


# -- embeddings -------------------------------------------------------------------------------------------------


def test_decoder_inputs_embeds_match_decoder_input_ids(model) -> None:
    inputs = decoder_inputs(make_inputs())
    ids = inputs.pop("decoder_input_ids")
    embeds = model.get_input_embeddings()(ids)
    with torch.no_grad():
        from_ids = model(**inputs, decoder_input_ids=ids)
        from_embeds = model(**inputs, decoder_inputs_embeds=embeds)
    torch.testing.assert_close(from_embeds.logits, from_ids.logits)
    with pytest.raises(ValueError, match="exactly one of decoder_input_ids and decoder_inputs_embeds"):
        model(**inputs, decoder_input_ids=ids, decoder_inputs_embeds=embeds)


@pytest.mark.parametrize("new_size", [VOCAB + 3, VOCAB - 2])
def test_resize_token_embeddings(model, new_size: int) -> None:
    before_embed = model.get_input_embeddings().weight.detach().clone()
    before_head = model.lm_head.weight.detach().clone()
    model.resize_token_embeddings(new_size)
    assert model.config.vocab_size == new_size
    assert model.get_input_embeddings().weight.shape == (new_size, model.config.d_model)
    assert model.lm_head.weight.shape == (new_size, model.config.d_model) and model.lm_head.bias.shape == (
        new_size,
    )
    kept = min(new_size, VOCAB)
    torch.testing.assert_close(model.get_input_embeddings().weight[:kept], before_embed[:kept])
    torch.testing.assert_close(model.lm_head.weight[:kept], before_head[:kept])
    inputs = decoder_inputs(make_inputs())
    inputs["decoder_input_ids"][0, 1] = new_size - 1  # a token only the resized vocabulary has
    assert model(**inputs).logits.shape[-1] == new_size
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model(**dict(inputs, decoder_input_ids=inputs["decoder_input_ids"] + new_size))


# -- save / load -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", [SignAttentionModel, SignAttentionForConditionalGeneration])
def test_save_load_round_trip(model_class, tmp_path) -> None:
    torch.manual_seed(0)
    model = model_class(tiny_config(output_attentions=True)).eval()
    model.save_pretrained(tmp_path)
    loaded = model_class.from_pretrained(tmp_path).eval()
    assert loaded.config.output_attentions
    inputs = decoder_inputs(make_inputs())
    with torch.no_grad():
        ours, theirs = model(**inputs), loaded(**inputs)
    torch.testing.assert_close(
        ours.last_hidden_state if model_class is SignAttentionModel else ours.logits,
        theirs.last_hidden_state if model_class is SignAttentionModel else theirs.logits,
        rtol=0,
        atol=0,
    )
    torch.testing.assert_close(ours.cross_attentions[-1], theirs.cross_attentions[-1], rtol=0, atol=0)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0, msg=name)
