"""SignAttention: the pose-to-gloss transformer of arXiv 2410.14506, in the transformers style.

Read top to bottom: keypoint embedder -> sinusoidal positions -> attention -> encoder layer -> decoder layer ->
encoder -> decoder -> ``SignAttentionModel`` -> ``SignAttentionForConditionalGeneration`` (adds the generator and
``generate()``).

It is the official ``KeypointsTransformer`` (Conv1d embedder + ``torch.nn.Transformer`` with ``batch_first=True``,
post-norm layers, a final LayerNorm on each stack) rebuilt so that transformers can drive it: attention goes through
the transformers attention interface (eager or sdpa), generation uses an ``EncoderDecoderCache`` so each step costs
one token, and the model can return what the paper's interpretability analysis reads — every attention map, and the
outputs of the decoder's self-attention and cross-attention blocks before they are added to the residual stream.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BaseModelOutput,
    BaseModelOutputWithPastAndCrossAttentions,
    Seq2SeqLMOutput,
    Seq2SeqModelOutput,
)
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.utils import can_return_tuple

from .configuration_signattention import SignAttentionConfig
from .cpu_kernels import ReluFeedForwardInChunks, dropout_on_cpu

# transformers 5.25 renamed the cache, as argument and as output field, from ``past_key_values`` to ``cache`` (the old
# name is deprecated until 5.40). This file ships as Hub remote code and runs on whatever transformers its user has,
# so it speaks the installed version's name: ``generate()`` passes the cache under it and reads it back from the
# outputs under it. ``forward`` takes both names.
CACHE_NAME = "cache" if "cache" in Seq2SeqLMOutput.__dataclass_fields__ else "past_key_values"


def cache_argument(cache: EncoderDecoderCache | None, past_key_values: EncoderDecoderCache | None):
    """The cache given under either name (``past_key_values`` for callers written before transformers 5.25).

    Where the installed transformers has renamed it, the old name warns as transformers' own models do.
    """
    if past_key_values is None:
        return cache
    if cache is not None:
        raise ValueError("Pass the cache once: as cache (transformers >= 5.25) or past_key_values, not both")
    if CACHE_NAME == "cache":
        warnings.warn(
            "past_key_values is deprecated since transformers 5.25 (removed in 5.40): pass cache",
            FutureWarning,
            stacklevel=3,
        )
    return past_key_values


@dataclass
class SignAttentionDecoderOutput(BaseModelOutputWithPastAndCrossAttentions):
    """Decoder output, plus the two quantities the paper compares to tell "video" from "previous tokens".

    self_attention_outputs / cross_attention_outputs: one `(batch, target_len, d_model)` tensor per decoder layer,
    the output of that block just before the residual add.
    """

    self_attention_outputs: tuple[torch.FloatTensor, ...] | None = None
    cross_attention_outputs: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class SignAttentionSeq2SeqModelOutput(Seq2SeqModelOutput):
    decoder_self_attention_outputs: tuple[torch.FloatTensor, ...] | None = None
    decoder_cross_attention_outputs: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class SignAttentionSeq2SeqLMOutput(Seq2SeqLMOutput):
    decoder_self_attention_outputs: tuple[torch.FloatTensor, ...] | None = None
    decoder_cross_attention_outputs: tuple[torch.FloatTensor, ...] | None = None


def sinusoidal_positions(start: int, length: int, d_model: int, device: torch.device) -> torch.Tensor:
    """`(length, d_model)` sin/cos table, interleaved (sin on even, cos on odd channels) like the official code.

    Computed on the fly: it is a few hundred numbers, and a buffer would have to be rebuilt after meta-device loading.
    """
    position = torch.arange(start, start + length, device=device, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(
        torch.arange(0, d_model, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )
    table = torch.zeros(length, d_model, device=device)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term)
    return table


class SignAttentionKeypointEmbedder(nn.Module):
    """Two kernel-1 Conv1d with ReLU: a per-frame MLP from flattened keypoints to d_model (the official embedder)."""

    def __init__(self, config: SignAttentionConfig):
        super().__init__()
        self.conv_in = nn.Conv1d(config.num_features, config.embedder_width, kernel_size=1)
        self.conv_out = nn.Conv1d(config.embedder_width, config.d_model, kernel_size=1)

    def forward(self, input_features: torch.Tensor) -> torch.Tensor:
        """`(..., num_features)` -> `(..., d_model)`, any leading shape (the encoder passes only real frames).

        A kernel-1 Conv1d is a linear map per frame: applied as ``linear`` on the frames-last layout, it needs none
        of the two transposed copies of the clip a Conv1d call makes (forward and backward), with the same weights.
        float64 (or integer) poses are computed in the weights' dtype.
        """
        hidden = input_features.to(self.conv_in.weight.dtype)
        hidden = torch.relu(nn.functional.linear(hidden, self.conv_in.weight[..., 0], self.conv_in.bias))
        return torch.relu(nn.functional.linear(hidden, self.conv_out.weight[..., 0], self.conv_out.bias))


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain softmax(QK^T)V; the only implementation that can hand back the attention weights.

    The scores are the one large tensor here (batch x heads x frames x frames, ~100 MB for 64 clips of 220 frames
    in the encoder), so the scale goes on the queries and, without autograd, softmax overwrites the scores: one
    pass and one allocation fewer (measured: encoder attention with weights 170 ms -> 107 ms, sdpa 65 ms).
    """
    scores = torch.matmul(query * scaling, key.transpose(2, 3))
    if attention_mask is not None:
        scores.add_(attention_mask)
    if scores.requires_grad:
        weights = nn.functional.softmax(scores, dim=-1)
    else:
        weights = torch.softmax(scores, dim=-1, out=scores)
    attn_output = torch.matmul(dropout_on_cpu(weights, dropout, module.training), value)
    return attn_output.transpose(1, 2).contiguous(), weights


class SignAttentionAttention(nn.Module):
    """Multi-head attention with separate q/k/v projections (``nn.MultiheadAttention``'s packed weights, split)."""

    def __init__(
        self,
        config: SignAttentionConfig,
        layer_idx: int,
        is_causal: bool = False,
        is_cross_attention: bool = False,
    ):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.is_causal = is_causal  # read by the sdpa interface when no mask is given
        self.is_cross_attention = is_cross_attention
        self.num_heads = config.num_heads
        self.head_dim = config.d_model // config.num_heads
        self.scaling = self.head_dim**-0.5
        self.q_proj = nn.Linear(config.d_model, config.d_model)
        self.k_proj = nn.Linear(config.d_model, config.d_model)
        self.v_proj = nn.Linear(config.d_model, config.d_model)
        self.out_proj = nn.Linear(config.d_model, config.d_model)

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        return states.view(*states.shape[:-1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None,
        key_value_states: torch.Tensor | None = None,
        cache: EncoderDecoderCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        query = self._split_heads(self.q_proj(hidden_states))
        source = key_value_states if self.is_cross_attention else hidden_states

        if self.is_cross_attention and cache is not None and cache.is_updated.get(self.layer_idx):
            # The encoder output does not change while decoding: its keys/values were projected at the first step.
            layer_cache = cache.cross_attention_cache.layers[self.layer_idx]
            key, value = layer_cache.keys, layer_cache.values
        else:
            key, value = self._split_heads(self.k_proj(source)), self._split_heads(self.v_proj(source))
            if cache is not None:
                if self.is_cross_attention:
                    key, value = cache.cross_attention_cache.update(key, value, self.layer_idx)
                    cache.is_updated[self.layer_idx] = True
                else:
                    key, value = cache.self_attention_cache.update(key, value, self.layer_idx)

        # Asking for the weights switches this call to eager: sdpa cannot return them, and returning None would
        # silently break every attention plot downstream. So does attention dropout on CPU: sdpa then leaves its
        # fused kernel for a slower materialising path with bernoulli masks (measured on the encoder's
        # 64 x 8 x 119 x 119 weights, forward + backward: 150 ms, eager with ``dropout_on_cpu`` 105 ms).
        dropout = self.config.attention_dropout if self.training else 0.0
        attention_interface: Callable = (
            eager_attention_forward
            if output_attentions or (dropout > 0 and query.device.type == "cpu")
            else ALL_ATTENTION_FUNCTIONS.get_interface(
                self.config._attn_implementation, eager_attention_forward
            )
        )
        attn_output, attn_weights = attention_interface(
            self, query, key, value, attention_mask, scaling=self.scaling, dropout=dropout
        )
        attn_output = self.out_proj(attn_output.reshape(*hidden_states.shape[:-1], -1))
        return attn_output, (attn_weights if output_attentions else None)


class SignAttentionFeedForward(nn.Module):
    """fc1 -> activation -> dropout -> fc2, as in ``nn.TransformerEncoderLayer``.

    On CPU, a ReLU block runs as ``ReluFeedForwardInChunks`` (same weights, same results up to float rounding);
    elsewhere (GPU, autocast, other activations, torch.compile / export, and inside ``torch.func`` transforms such
    as ``vjp`` / ``vmap``, which that Function does not support) as the plain modules.
    """

    # Rows per block on CPU: the (rows, 2048) float32 block (1 MB at 128 rows) stays in a core's L2 cache; measured
    # on the 2-core CI CPU (fwd + bwd, 7,616 rows): 64-256 rows 141-144 ms, 1,024 rows 179 ms, whole 181 ms.
    block_rows_per_thread = 128

    def __init__(self, config: SignAttentionConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, config.ffn_dim)
        self.fc2 = nn.Linear(config.ffn_dim, config.d_model)
        self.activation = ACT2FN[config.activation_function]
        self.is_relu = config.activation_function == "relu"
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        blocked = self.is_relu and hidden_states.device.type == "cpu" and not torch.is_autocast_enabled("cpu")
        # A Python loop over blocks: eager mode only, outside torch.func transforms (checked after tracing, which
        # cannot follow that check).
        if blocked and not is_traced() and not torch._C._functorch.is_functorch_wrapped_tensor(hidden_states):
            rows = hidden_states.reshape(-1, hidden_states.shape[-1])
            output = ReluFeedForwardInChunks.apply(
                rows.contiguous(),
                self.fc1.weight,
                self.fc1.bias,
                self.fc2.weight,
                self.fc2.bias,
                self.dropout.p if self.training else 0.0,
                self.block_rows_per_thread * torch.get_num_threads(),
            )
            return output.view(*hidden_states.shape[:-1], -1)
        return self.fc2(self.dropout(self.activation(self.fc1(hidden_states))))


def on_real_frames(
    per_frame: Callable[[torch.Tensor], torch.Tensor],
    hidden_states: torch.Tensor,
    real_frames: torch.Tensor | None,
) -> torch.Tensor:
    """Apply a per-frame module to the real frames only; padded frames get zeros.

    A batch is padded to its longest clip (over half of its frames are padding when clips of all lengths are
    mixed), and the embedder and the feed-forward block, most of the encoder's arithmetic, treat every frame on its
    own. Padded frames are never attended to (their keys are masked out in both attention blocks), so what they
    hold changes no real frame, logit or loss; only their own encoder states differ from ``nn.Transformer``'s.
    """
    if real_frames is None:
        return per_frame(hidden_states)
    packed = per_frame(hidden_states[real_frames])
    return packed.new_zeros(*real_frames.shape, packed.shape[-1]).index_put((real_frames,), packed)


class SignAttentionEncoderLayer(GradientCheckpointingLayer):
    """Post-norm encoder layer, as ``nn.TransformerEncoderLayer(norm_first=False)``."""

    def __init__(self, config: SignAttentionConfig, layer_idx: int):
        super().__init__()
        self.self_attn = SignAttentionAttention(config, layer_idx)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.feed_forward = SignAttentionFeedForward(config)
        self.final_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None,
        output_attentions: bool = False,
        real_frames: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """real_frames: `(batch, frames)` bool, or None when no frame is padding (see ``on_real_frames``)."""
        attn_output, attn_weights = self.self_attn(
            hidden_states, attention_mask, output_attentions=output_attentions
        )
        hidden_states = self.self_attn_layer_norm(hidden_states + self.dropout(attn_output))
        feed_forward_output = on_real_frames(self.feed_forward, hidden_states, real_frames)
        hidden_states = self.final_layer_norm(hidden_states + self.dropout(feed_forward_output))
        return hidden_states, attn_weights


class SignAttentionDecoderLayer(GradientCheckpointingLayer):
    """Post-norm decoder layer, as ``nn.TransformerDecoderLayer(norm_first=False)``.

    Returns, besides the hidden states, the self-attention and cross-attention block outputs (what each block adds
    to the residual stream): the paper compares them to see whether a prediction comes from the video or from the
    previous tokens.
    """

    def __init__(self, config: SignAttentionConfig, layer_idx: int):
        super().__init__()
        self.self_attn = SignAttentionAttention(config, layer_idx, is_causal=True)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.encoder_attn = SignAttentionAttention(config, layer_idx, is_cross_attention=True)
        self.encoder_attn_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.feed_forward = SignAttentionFeedForward(config)
        self.final_layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        self_attention_mask: torch.Tensor | None,
        encoder_hidden_states: torch.Tensor,
        encoder_attention_mask: torch.Tensor | None,
        cache: EncoderDecoderCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor, torch.Tensor]:
        self_output, self_weights = self.self_attn(
            hidden_states,
            self_attention_mask,
            cache=cache,
            output_attentions=output_attentions,
        )
        self_output = self.dropout(self_output)
        hidden_states = self.self_attn_layer_norm(hidden_states + self_output)

        cross_output, cross_weights = self.encoder_attn(
            hidden_states,
            encoder_attention_mask,
            key_value_states=encoder_hidden_states,
            cache=cache,
            output_attentions=output_attentions,
        )
        cross_output = self.dropout(cross_output)
        hidden_states = self.encoder_attn_layer_norm(hidden_states + cross_output)

        hidden_states = self.final_layer_norm(hidden_states + self.dropout(self.feed_forward(hidden_states)))
        return hidden_states, self_weights, cross_weights, self_output, cross_output


class SignAttentionPreTrainedModel(PreTrainedModel):
    config_class = SignAttentionConfig
    config: SignAttentionConfig
    base_model_prefix = "model"
    main_input_name = "input_features"
    _supports_sdpa = True
    supports_gradient_checkpointing = True  # each layer is a GradientCheckpointingLayer
    _no_split_modules = ["SignAttentionEncoderLayer", "SignAttentionDecoderLayer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The official model's initialisation: ``nn.Transformer`` applies Xavier-uniform to its matrices, the
        embedder, token embedding and generator keep PyTorch's defaults."""
        if isinstance(module, (SignAttentionAttention, SignAttentionFeedForward)):
            for child in module.children():
                if isinstance(child, nn.Linear):
                    init.xavier_uniform_(child.weight)
                    init.zeros_(child.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=1.0)
        elif isinstance(module, (nn.Conv1d, nn.Linear)) and not getattr(
            module.weight, "_is_hf_initialized", False
        ):
            module.reset_parameters()

    def _output_flags(
        self, output_attentions: bool | None, output_hidden_states: bool | None
    ) -> tuple[bool, bool]:
        """An argument left at None takes the config's value, as in every transformers model: an interpretability
        model that silently ignored ``config.output_attentions = True`` would hand back no maps."""
        return (
            self.config.output_attentions if output_attentions is None else output_attentions,
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states,
        )


def unsupported_cache_message(what: str, config: SignAttentionConfig) -> str:
    return (
        f"{what} is not supported: SignAttention decodes with the dynamic cache (leave cache_implementation unset "
        f"or pass 'dynamic'); its decoder has {config.decoder_layers} layer(s) and at most "
        f"{config.max_target_positions} positions, so a static cache would save nothing"
    )


def is_traced() -> bool:
    """True inside ``torch.compile`` / ``torch.export``: the value checks below read tensor values (a host sync and
    a data-dependent branch that cannot be traced), so they run in eager mode only."""
    return torch.compiler.is_compiling()


def padding_to_additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`(batch, keys)` 1/0 mask -> `(batch, 1, 1, keys)` additive mask: 0 to attend, dtype-min to ignore."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class SignAttentionEncoder(SignAttentionPreTrainedModel):
    def __init__(self, config: SignAttentionConfig):
        super().__init__(config)
        self.embedder = SignAttentionKeypointEmbedder(config)
        self.positional_dropout = nn.Dropout(config.positional_dropout)
        self.layers = nn.ModuleList(
            [SignAttentionEncoderLayer(config, i) for i in range(config.encoder_layers)]
        )
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
    ) -> BaseModelOutput:
        output_attentions, output_hidden_states = self._output_flags(output_attentions, output_hidden_states)
        check_pose_inputs(self.config, input_features, attention_mask)
        # Skipping padded frames gives data-dependent shapes: eager mode only.
        padded = attention_mask is not None and not is_traced() and not attention_mask.all()
        real_frames = attention_mask.bool() if padded else None
        hidden_states = on_real_frames(self.embedder, input_features, real_frames)
        positions = sinusoidal_positions(0, hidden_states.shape[1], self.config.d_model, hidden_states.device)
        hidden_states = self.positional_dropout(hidden_states + positions.to(hidden_states.dtype))

        mask = (
            None if attention_mask is None else padding_to_additive_mask(attention_mask, hidden_states.dtype)
        )
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer in self.layers:
            hidden_states, weights = layer(
                hidden_states, mask, output_attentions=output_attentions, real_frames=real_frames
            )
            if output_attentions:
                all_attentions += (weights,)
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
        hidden_states = self.layer_norm(hidden_states)
        return BaseModelOutput(
            last_hidden_state=hidden_states, hidden_states=all_hidden_states, attentions=all_attentions
        )


class SignAttentionDecoder(SignAttentionPreTrainedModel):
    def __init__(self, config: SignAttentionConfig):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.embed_scale = math.sqrt(config.d_model)
        self.positional_dropout = nn.Dropout(config.positional_dropout)
        self.layers = nn.ModuleList(
            [SignAttentionDecoderLayer(config, i) for i in range(config.decoder_layers)]
        )
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embed_tokens = value

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: EncoderDecoderCache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        output_block_outputs: bool = False,
        return_dict: bool | None = None,
        past_key_values: EncoderDecoderCache | None = None,
    ) -> SignAttentionDecoderOutput:
        r"""
        inputs_embeds: `(batch, target_len, d_model)`, used in place of ``embed_tokens(input_ids)``; the model still
            scales it by sqrt(d_model), so ``embed_tokens(ids)`` gives exactly the outputs of ``ids``.
        cache / past_key_values: the decoding cache, under either name (see ``CACHE_NAME``).
        """
        cache = cache_argument(cache, past_key_values)
        output_attentions, output_hidden_states = self._output_flags(output_attentions, output_hidden_states)
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of decoder_input_ids and decoder_inputs_embeds")
        if encoder_hidden_states is None:
            raise ValueError("The decoder reads the encoder: pass encoder_hidden_states")
        if cache is not None and cache.self_attention_cache.is_compileable:
            raise ValueError(
                unsupported_cache_message(type(cache.self_attention_cache).__name__, self.config)
            )
        if use_cache and cache is None:
            cache = EncoderDecoderCache(DynamicCache(config=self.config), DynamicCache(config=self.config))
        past_length = cache.get_seq_length() if cache is not None else 0
        if input_ids is not None:
            if past_length == 0 and not is_traced():
                # Checked on the first call only: later decoding steps read tokens the model itself produced.
                check_token_ids(input_ids, self.config.vocab_size, "decoder_input_ids")
            inputs_embeds = self.embed_tokens(input_ids)
        target_length = inputs_embeds.shape[1]

        hidden_states = inputs_embeds * self.embed_scale
        positions = sinusoidal_positions(
            past_length, target_length, self.config.d_model, hidden_states.device
        )
        hidden_states = self.positional_dropout(hidden_states + positions.to(hidden_states.dtype))

        self_mask = causal_additive_mask(target_length, past_length, attention_mask, hidden_states.dtype)
        cross_mask = (
            None
            if encoder_attention_mask is None
            else padding_to_additive_mask(encoder_attention_mask, hidden_states.dtype)
        )

        all_hidden_states = (hidden_states,) if output_hidden_states else None
        self_attentions, cross_attentions = ((), ()) if output_attentions else (None, None)
        self_outputs, cross_outputs = ((), ()) if output_block_outputs else (None, None)
        for layer in self.layers:
            hidden_states, self_weights, cross_weights, self_output, cross_output = layer(
                hidden_states,
                self_mask,
                encoder_hidden_states,
                cross_mask,
                cache=cache,
                output_attentions=output_attentions,
            )
            if output_attentions:
                self_attentions += (self_weights,)
                cross_attentions += (cross_weights,)
            if output_block_outputs:
                self_outputs += (self_output,)
                cross_outputs += (cross_output,)
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
        hidden_states = self.layer_norm(hidden_states)
        return SignAttentionDecoderOutput(
            last_hidden_state=hidden_states,
            **{CACHE_NAME: cache if use_cache else None},
            hidden_states=all_hidden_states,
            attentions=self_attentions,
            cross_attentions=cross_attentions,
            self_attention_outputs=self_outputs,
            cross_attention_outputs=cross_outputs,
        )


def causal_additive_mask(
    query_length: int, past_length: int, padding_mask: torch.Tensor | None, dtype: torch.dtype
) -> torch.Tensor | None:
    """Decoder self-attention mask: query i (absolute position past_length + i) sees keys 0..past_length + i.

    A single new token with no padding sees the whole cache, so no mask is needed (the common decoding step).
    """
    if query_length == 1 and padding_mask is None:
        return None
    key_length = past_length + query_length
    device = padding_mask.device if padding_mask is not None else None
    query_positions = torch.arange(past_length, key_length, device=device)[:, None]
    allowed = torch.arange(key_length, device=device)[None, :] <= query_positions
    mask = torch.zeros(query_length, key_length, dtype=dtype, device=device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )
    mask = mask[None, None]
    if padding_mask is not None:
        mask = mask + padding_to_additive_mask(padding_mask[:, -key_length:], dtype)
        mask = mask.clamp(min=torch.finfo(dtype).min)
    return mask


def check_pose_inputs(
    config: SignAttentionConfig, input_features: torch.Tensor, attention_mask: torch.Tensor | None
) -> None:
    """Turn the mistakes people make with pose batches into messages that say what to do."""
    if input_features.dim() != 3:
        raise ValueError(
            f"input_features must be (batch, frames, features), got shape {tuple(input_features.shape)}; "
            "use SignAttentionFeatureExtractor to turn poses into a batch"
        )
    batch, frames, features = input_features.shape
    if features != config.num_features:
        raise ValueError(
            f"input_features has {features} features per frame, the model expects {config.num_features} "
            f"({config.num_landmarks} landmarks of {config.landmark_components} x {config.num_coordinates} coordinates)"
        )
    if frames == 0:
        raise ValueError("input_features has 0 frames: a clip needs at least one frame")
    if frames > config.max_source_positions:
        raise ValueError(
            f"input_features has {frames} frames, more than max_source_positions={config.max_source_positions}; "
            "sample or truncate frames with the feature extractor"
        )
    if attention_mask is not None and attention_mask.shape != (batch, frames):
        raise ValueError(
            f"attention_mask has shape {tuple(attention_mask.shape)}, expected {(batch, frames)}"
        )
    if is_traced():
        return
    # A finite sum means every value is finite (NaN and inf carry into a sum): one reduction, where isfinite().all()
    # makes several passes over the batch (measured on a training batch of 64 x 127 frames: 0.1 ms against 3.7 ms,
    # 2.7 % of the training step). Only a sum that is not finite (a bad value, or finite values overflowing
    # float32) needs the exact check.
    if not torch.isfinite(input_features.sum()) and not torch.isfinite(input_features).all():
        raise ValueError(
            "input_features contains NaN or inf: replace missing landmarks with 0 (the feature extractor does)"
        )
    if attention_mask is not None:
        empty = (attention_mask.sum(dim=1) == 0).nonzero().flatten().tolist()
        if empty:
            raise ValueError(
                f"attention_mask masks every frame of sample(s) {empty}: a clip needs at least one real frame"
            )


def check_token_ids(ids: torch.Tensor, vocab_size: int, name: str, ignore_index: int | None = None) -> None:
    values = ids if ignore_index is None else ids[ids != ignore_index]
    if values.numel() and (values.min() < 0 or values.max() >= vocab_size):
        raise ValueError(
            f"{name} has token ids in [{values.min().item()}, {values.max().item()}], outside the vocabulary [0, {vocab_size})"
        )


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Teacher forcing: the decoder reads ``<bos> y1 .. y_{n-1}`` to predict ``y1 .. y_n``."""
    shifted = labels.new_full(labels.shape, pad_token_id)
    shifted[:, 1:] = labels[:, :-1]
    shifted[:, 0] = decoder_start_token_id
    return shifted.masked_fill(shifted == -100, pad_token_id)


class SignAttentionModel(SignAttentionPreTrainedModel):
    def __init__(self, config: SignAttentionConfig):
        super().__init__(config)
        self.encoder = SignAttentionEncoder(config)
        self.decoder = SignAttentionDecoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.decoder.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.decoder.embed_tokens = value

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        past_key_values: EncoderDecoderCache | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        output_block_outputs: bool = False,
        return_dict: bool | None = None,
        cache: EncoderDecoderCache | None = None,
    ) -> SignAttentionSeq2SeqModelOutput:
        output_attentions, output_hidden_states = self._output_flags(output_attentions, output_hidden_states)
        if encoder_outputs is None:
            if input_features is None:
                raise ValueError("Pass input_features (or encoder_outputs)")
            encoder_outputs = self.encoder(
                input_features,
                attention_mask=attention_mask,
                output_attentions=output_attentions,
                output_hidden_states=output_hidden_states,
                return_dict=True,
            )
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(*encoder_outputs)
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError("Pass decoder_input_ids, decoder_inputs_embeds or labels")

        decoder_outputs = self.decoder(
            decoder_input_ids,
            encoder_hidden_states=encoder_outputs.last_hidden_state,
            encoder_attention_mask=attention_mask,
            attention_mask=decoder_attention_mask,
            cache=cache_argument(cache, past_key_values),
            inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            output_block_outputs=output_block_outputs,
            return_dict=True,
        )
        return SignAttentionSeq2SeqModelOutput(
            last_hidden_state=decoder_outputs.last_hidden_state,
            **{CACHE_NAME: getattr(decoder_outputs, CACHE_NAME)},
            decoder_hidden_states=decoder_outputs.hidden_states,
            decoder_attentions=decoder_outputs.attentions,
            cross_attentions=decoder_outputs.cross_attentions,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions,
            decoder_self_attention_outputs=decoder_outputs.self_attention_outputs,
            decoder_cross_attention_outputs=decoder_outputs.cross_attention_outputs,
        )


class SignAttentionForConditionalGeneration(SignAttentionPreTrainedModel, GenerationMixin):
    def __init__(self, config: SignAttentionConfig):
        super().__init__(config)
        self.model = SignAttentionModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size)  # the official "generator"
        self.post_init()
        self.generation_config.max_length = config.max_target_positions

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    @staticmethod
    def _reorder_cache(cache: EncoderDecoderCache, beam_idx: torch.LongTensor) -> EncoderDecoderCache:
        """Beam search: reorder the self-attention cache only. Beams move within their clip, and the cross-attention
        keys/values of all beams of a clip are the same (projected from the same encoder output), so reordering
        them (2 x beams x heads x frames x head_dim per step) would copy them onto themselves."""
        cache.self_attention_cache.reorder_cache(beam_idx)
        return cache

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        past_key_values: EncoderDecoderCache | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        output_block_outputs: bool = False,
        return_dict: bool | None = None,
        cache: EncoderDecoderCache | None = None,
    ) -> SignAttentionSeq2SeqLMOutput:
        r"""
        input_features: `(batch, frames, num_features)` flattened keypoints (see `SignAttentionFeatureExtractor`).
        attention_mask: `(batch, frames)`, 1 for real frames, 0 for padding.
        labels: `(batch, target_len)` gloss ids ending with EOS; -100 (and the pad id) are ignored by the loss.
        decoder_inputs_embeds: `(batch, target_len, d_model)` in place of ``get_input_embeddings()(decoder_input_ids)``.
        output_attentions / output_hidden_states: None takes the config's value.
        output_block_outputs: also return, per decoder layer, the self-attention and cross-attention block outputs
            before the residual add (`decoder_self_attention_outputs`, `decoder_cross_attention_outputs`).
        cache / past_key_values: the decoding cache, under either name: transformers >= 5.25 passes ``cache``,
            older versions ``past_key_values`` (see ``CACHE_NAME``).
        return_dict: False (or ``config.return_dict = False``) returns a tuple of the fields that are not None.
        """
        if labels is not None:
            if not is_traced():
                check_token_ids(labels, self.config.vocab_size, "labels", ignore_index=-100)
            labels = labels.masked_fill(labels == self.config.pad_token_id, -100)
            if decoder_input_ids is None and decoder_inputs_embeds is None:
                decoder_input_ids = shift_tokens_right(
                    labels, self.config.pad_token_id, self.config.decoder_start_token_id
                )
        outputs = self.model(
            input_features,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_attention_mask,
            encoder_outputs=encoder_outputs,
            cache=cache_argument(cache, past_key_values),
            decoder_inputs_embeds=decoder_inputs_embeds,
            use_cache=use_cache if use_cache is not None else (self.config.use_cache and labels is None),
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            output_block_outputs=output_block_outputs,
            return_dict=True,
        )
        logits = self.lm_head(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        return SignAttentionSeq2SeqLMOutput(
            loss=loss,
            logits=logits,
            **{CACHE_NAME: getattr(outputs, CACHE_NAME)},
            decoder_hidden_states=outputs.decoder_hidden_states,
            decoder_attentions=outputs.decoder_attentions,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            encoder_attentions=outputs.encoder_attentions,
            decoder_self_attention_outputs=outputs.decoder_self_attention_outputs,
            decoder_cross_attention_outputs=outputs.decoder_cross_attention_outputs,
        )

    def generate(self, *args, **kwargs):
        """``GenerationMixin.generate``, with two things settled first.

        - ``output_attentions`` / ``output_hidden_states`` left unset take the model config's value (a generation
          config copies the model config once, when the model is built; a flag set on ``model.config`` later would
          otherwise be ignored).
        - A static cache is refused by name (see the decoder) instead of failing deep inside attention.
        """
        generation_config = kwargs.get("generation_config") or self.generation_config
        for flag in ("output_attentions", "output_hidden_states"):
            if (
                kwargs.get(flag) is None
                and not getattr(generation_config, flag)
                and getattr(self.config, flag)
            ):
                kwargs[flag] = True
        cache_implementation = kwargs.get("cache_implementation", generation_config.cache_implementation)
        if cache_implementation not in (None, "dynamic"):
            raise ValueError(
                unsupported_cache_message(f"cache_implementation={cache_implementation!r}", self.config)
            )
        return super().generate(*args, **kwargs)


__all__ = [
    "SignAttentionPreTrainedModel",
    "SignAttentionModel",
    "SignAttentionForConditionalGeneration",
]
