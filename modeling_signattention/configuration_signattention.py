"""Configuration of the SignAttention pose-to-gloss transformer.

The defaults *are* the paper preset: they reproduce the official ``KeypointsTransformer`` trained on GSL in
"SignAttention: On the Interpretability of Transformer Models for Sign Language Translation" (arXiv 2410.14506):
body + both hands (75 MediaPipe Holistic points, x/y/z), Conv1d embedder of width 128, d_model 16, 8 heads,
FFN 2048, one encoder and one decoder layer, dropout 0.2, ReLU, at most 220 frames and 20 target tokens.
"""

from __future__ import annotations

from transformers import PreTrainedConfig

from .layouts import DEFAULT_LAYOUT, Layout, get_layout


class SignAttentionConfig(PreTrainedConfig):
    r"""
    Args:
        layout (`str`, defaults to "holistic"): the pose layout the model was trained on
            (``modeling_signattention.layouts.LAYOUTS``: holistic, holistic_reduced, openpose_body25); input in
            another layout is refused, naming both.
        landmark_components (`list[str]`, defaults to the layout's body + left hand + right hand):
            Which components of the layout the model reads, by name and in this order.
        num_coordinates (`int`, defaults to the layout's): 2 keeps x/y, 3 keeps x/y/z (Holistic layouts only).
        embedder_width (`int`, defaults to 128): channels of the first Conv1d (kernel 1) of the keypoint embedder.
        d_model (`int`, defaults to 16): transformer width. Must be even (sinusoidal positions) and divisible by
            `num_heads`.
        num_heads (`int`, defaults to 8), ffn_dim (`int`, defaults to 2048),
        encoder_layers / decoder_layers (`int`, default 1 each): as in `torch.nn.Transformer`.
        dropout (`float`, 0.2): residual and feed-forward dropout; attention_dropout (`float`, 0.2): on attention
            weights (``nn.Transformer`` uses the same value for both); positional_dropout (`float`, 0.1): after adding
            positions (the official ``PositionalEncoding`` keeps its own default of 0.1).
        max_source_positions (`int`, 220): most frames one clip may have after frame sampling.
        max_target_positions (`int`, 20): most decoder positions (start token included).
    """

    model_type = "signattention"
    attribute_map = {
        "hidden_size": "d_model",
        "num_attention_heads": "num_heads",
        "num_hidden_layers": "decoder_layers",
    }

    layout: str = DEFAULT_LAYOUT
    landmark_components: list[str] | None = None
    num_coordinates: int | None = None
    embedder_width: int = 128
    d_model: int = 16
    num_heads: int = 8
    ffn_dim: int = 2048
    encoder_layers: int = 1
    decoder_layers: int = 1
    dropout: float = 0.2
    attention_dropout: float = 0.2
    positional_dropout: float = 0.1
    activation_function: str = "relu"
    layer_norm_eps: float = 1e-5
    max_source_positions: int = 220
    max_target_positions: int = 20
    vocab_size: int = 4
    pad_token_id: int | None = 0
    unk_token_id: int | None = 1
    bos_token_id: int | None = 2
    eos_token_id: int | None = 3
    decoder_start_token_id: int | None = 2
    is_encoder_decoder: bool = True
    use_cache: bool = True
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs):
        layout = get_layout(self.layout)
        if self.landmark_components is None:
            self.landmark_components = layout.body_and_hands
        if self.num_coordinates is None:
            self.num_coordinates = len(layout.coordinates)
        super().__post_init__(**kwargs)
        self.validate_layout()

    def validate_layout(self) -> None:
        """Fail at construction, with the offending value named, rather than deep inside a matmul later."""
        layout = self.landmark_layout
        layout.check_components(self.landmark_components)
        if not 2 <= self.num_coordinates <= len(layout.coordinates):
            raise ValueError(
                f"num_coordinates must be 2 to {len(layout.coordinates)} for layout {layout.name!r} "
                f"(coordinates {', '.join(layout.coordinates)}), got {self.num_coordinates}"
            )
        if self.d_model % 2 or self.d_model % self.num_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be even and divisible by num_heads ({self.num_heads})"
            )

    # transformers refuses ``config.output_attentions = True`` unless attention is eager, because sdpa cannot return
    # weights. This model switches any call that asks for weights to eager attention by itself (see
    # ``SignAttentionAttention``), so asking on the config is valid under every attention implementation.
    @property
    def output_attentions(self) -> bool:
        return self._output_attentions

    @output_attentions.setter
    def output_attentions(self, value: bool) -> None:
        self._output_attentions = value

    def validate(self) -> None:
        """transformers' validators, less the one that forbids ``output_attentions`` with sdpa (see above)."""
        for validator in PreTrainedConfig.__class_validators__:
            if validator.__name__ != "validate_output_attentions":
                validator(self)

    @property
    def landmark_layout(self) -> Layout:
        """The ``Layout`` named by ``layout``: point names, component sizes, shoulders."""
        return get_layout(self.layout)

    @property
    def num_landmarks(self) -> int:
        return self.landmark_layout.num_points(self.landmark_components)

    @property
    def num_features(self) -> int:
        """Size of one frame as the model reads it: landmarks x coordinates, flattened."""
        return self.num_landmarks * self.num_coordinates


__all__ = ["SignAttentionConfig"]
