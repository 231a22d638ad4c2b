"""Configuration of the SignAttention pose-to-gloss transformer.

The defaults *are* the paper preset: they reproduce the official ``KeypointsTransformer`` trained on GSL in
"SignAttention: On the Interpretability of Transformer Models for Sign Language Translation" (arXiv 2410.14506):
body + both hands (75 MediaPipe Holistic points, x/y/z), Conv1d embedder of width 128, d_model 16, 8 heads,
FFN 2048, one encoder and one decoder layer, dropout 0.2, ReLU, at most 220 frames and 20 target tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedConfig

# -- The landmark layout: the one table every part of the package reads -----------------------------------------
# MediaPipe Holistic components (name -> number of points) in the order Holistic and pose-format write them. It lives
# in this file because a Hub custom-code folder must be self-contained (the feature extractor imports it from here);
# ``dataset_builder.landmarks`` holds the one other copy, since extraction never imports the model, and
# ``tests/test_processing.py`` asserts that the two are equal. A new layout is a new entry here (and there).
HOLISTIC_COMPONENTS: dict[str, int] = {
    "POSE_LANDMARKS": 33,
    "FACE_LANDMARKS": 468,
    "LEFT_HAND_LANDMARKS": 21,
    "RIGHT_HAND_LANDMARKS": 21,
}
NUM_HOLISTIC_POINTS = sum(HOLISTIC_COMPONENTS.values())  # 543
# Some extractors append the 33 world (metric) body landmarks after the Holistic points.
NUM_HOLISTIC_WITH_WORLD_POINTS = NUM_HOLISTIC_POINTS + HOLISTIC_COMPONENTS["POSE_LANDMARKS"]  # 576
BODY_AND_HANDS = ["POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]  # the paper's 75 points
# MediaPipe's shoulder points inside POSE_LANDMARKS (the signer's left and right): the body's origin and unit.
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12


def num_points(components: Sequence[str]) -> int:
    """Points of an array holding exactly ``components``."""
    return sum(HOLISTIC_COMPONENTS[name] for name in components)


def component_slices(components: Sequence[str]) -> dict[str, slice]:
    """Where each named component lies in an array holding exactly ``components``, in that order."""
    slices, start = {}, 0
    for name in components:
        slices[name] = slice(start, start + HOLISTIC_COMPONENTS[name])
        start += HOLISTIC_COMPONENTS[name]
    return slices


class SignAttentionConfig(PreTrainedConfig):
    r"""
    Args:
        landmark_components (`list[str]`, defaults to body + left hand + right hand):
            Which MediaPipe Holistic components the model reads, by name and in this order.
        num_coordinates (`int`, defaults to 3): 2 keeps x/y, 3 keeps x/y/z.
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

    landmark_components: list[str] | None = None
    num_coordinates: int = 3
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
        if self.landmark_components is None:
            self.landmark_components = list(BODY_AND_HANDS)
        super().__post_init__(**kwargs)
        self.validate_layout()

    def validate_layout(self) -> None:
        """Fail at construction, with the offending value named, rather than deep inside a matmul later."""
        unknown = [name for name in self.landmark_components if name not in HOLISTIC_COMPONENTS]
        if unknown:
            raise ValueError(f"Unknown landmark components {unknown}; known: {list(HOLISTIC_COMPONENTS)}")
        if self.num_coordinates not in (2, 3):
            raise ValueError(f"num_coordinates must be 2 or 3, got {self.num_coordinates}")
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
    def num_landmarks(self) -> int:
        return num_points(self.landmark_components)

    @property
    def num_features(self) -> int:
        """Size of one frame as the model reads it: landmarks x coordinates, flattened."""
        return self.num_landmarks * self.num_coordinates


__all__ = [
    "BODY_AND_HANDS",
    "HOLISTIC_COMPONENTS",
    "LEFT_SHOULDER",
    "NUM_HOLISTIC_POINTS",
    "NUM_HOLISTIC_WITH_WORLD_POINTS",
    "RIGHT_SHOULDER",
    "SignAttentionConfig",
    "component_slices",
    "num_points",
]
