"""SignAttention: an interpretable pose-to-gloss transformer (arXiv 2410.14506) as a Hugging Face model package.

Importing the package does two registrations:
- with the Auto* factories, so the installed package loads saved models with no ``trust_remote_code``;
- ``register_for_auto_class``, so every ``save_pretrained`` writes ``auto_map`` and copies the configuration,
  modeling and feature-extraction code next to the weights: the folder then loads anywhere with
  ``trust_remote_code=True``, without this package.
"""

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForSeq2SeqLM
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_signattention import SignAttentionConfig
from .feature_extraction_signattention import SignAttentionFeatureExtractor
from .modeling_signattention import (
    SignAttentionForConditionalGeneration,
    SignAttentionModel,
    SignAttentionPreTrainedModel,
)
from .pipeline_signattention import TASK, SignLanguageTranslationPipeline, save_pipeline
from .tokenization_signattention import build_gloss_tokenizer

AutoConfig.register(SignAttentionConfig.model_type, SignAttentionConfig, exist_ok=True)
AutoModel.register(SignAttentionConfig, SignAttentionModel, exist_ok=True)
AutoModelForSeq2SeqLM.register(SignAttentionConfig, SignAttentionForConditionalGeneration, exist_ok=True)
AutoFeatureExtractor.register(SignAttentionConfig, SignAttentionFeatureExtractor, exist_ok=True)

SignAttentionConfig.register_for_auto_class()
SignAttentionModel.register_for_auto_class("AutoModel")
SignAttentionForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")
SignAttentionFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
PIPELINE_REGISTRY.register_pipeline(
    TASK, pipeline_class=SignLanguageTranslationPipeline, pt_model=AutoModelForSeq2SeqLM, type="multimodal"
)

__all__ = [
    "SignAttentionConfig",
    "SignAttentionFeatureExtractor",
    "SignAttentionPreTrainedModel",
    "SignAttentionModel",
    "SignAttentionForConditionalGeneration",
    "SignLanguageTranslationPipeline",
    "build_gloss_tokenizer",
    "save_pipeline",
]
