"""SignAttention: an interpretable pose-to-gloss transformer (arXiv 2410.14506) as a Hugging Face model package.

Asking the package for any of its classes (``from modeling_signattention import SignAttentionConfig``) first does,
once, two registrations (``register``):
- with the Auto* factories, so the installed package loads saved models with no ``trust_remote_code``;
- ``register_for_auto_class``, so every ``save_pretrained`` writes ``auto_map`` and copies the configuration,
  modeling and feature-extraction code next to the weights: the folder then loads anywhere with
  ``trust_remote_code=True``, without this package.

Importing the package alone loads nothing more: a pose-extraction worker that needs only the layout table
(``modeling_signattention.layouts``) would otherwise load torch and transformers' pipelines, about 5 s and 400 MB
per process.
"""

from importlib import import_module

# name -> the module that defines it
_EXPORTS = {
    "SignAttentionConfig": "configuration_signattention",
    "SignAttentionFeatureExtractor": "feature_extraction_signattention",
    "SignAttentionPreTrainedModel": "modeling_signattention",
    "SignAttentionModel": "modeling_signattention",
    "SignAttentionForConditionalGeneration": "modeling_signattention",
    "SignLanguageTranslationPipeline": "pipeline_signattention",
    "save_pipeline": "pipeline_signattention",
    "build_gloss_tokenizer": "tokenization_signattention",
    "TASK": "pipeline_signattention",
}
_registered = False


def register() -> None:
    """Register the model, its configuration, feature extractor and pipeline with transformers (once)."""
    global _registered
    if _registered:
        return
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForSeq2SeqLM
    from transformers.pipelines import PIPELINE_REGISTRY

    from .configuration_signattention import SignAttentionConfig
    from .feature_extraction_signattention import SignAttentionFeatureExtractor
    from .modeling_signattention import SignAttentionForConditionalGeneration, SignAttentionModel
    from .pipeline_signattention import TASK, SignLanguageTranslationPipeline

    AutoConfig.register(SignAttentionConfig.model_type, SignAttentionConfig, exist_ok=True)
    AutoModel.register(SignAttentionConfig, SignAttentionModel, exist_ok=True)
    AutoModelForSeq2SeqLM.register(SignAttentionConfig, SignAttentionForConditionalGeneration, exist_ok=True)
    AutoFeatureExtractor.register(SignAttentionConfig, SignAttentionFeatureExtractor, exist_ok=True)

    SignAttentionConfig.register_for_auto_class()
    SignAttentionModel.register_for_auto_class("AutoModel")
    SignAttentionForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")
    SignAttentionFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
    PIPELINE_REGISTRY.register_pipeline(
        TASK,
        pipeline_class=SignLanguageTranslationPipeline,
        pt_model=AutoModelForSeq2SeqLM,
        type="multimodal",
    )
    _registered = True


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    register()
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [*_EXPORTS, "register"]
