"""Word-level gloss tokenizer: one gloss, one id.

Glosses such as ``ΕΓΩ(1)`` or ``ΕΣΥ_ΣΥΖΗΤΑΩ_ΑΥΤΟΝ`` are whole signs, so the tokenizer splits on whitespace only
(a BPE or punctuation-aware pre-tokenizer would cut them apart). Ids follow the official vocabulary: ``<pad>``=0,
``<unk>``=1, ``<s>``=2 (decoder start), ``</s>``=3, then glosses in first-seen order. The result is a plain
``PreTrainedTokenizerFast``: ``AutoTokenizer`` reloads it from ``tokenizer.json`` with no custom code.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from tokenizers.processors import TemplateProcessing
from transformers import PreTrainedTokenizerFast

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)


def build_vocabulary(corpus: Iterable[str], base_vocab: dict[str, int] | None = None) -> dict[str, int]:
    """Special tokens, then every whitespace-separated token of ``corpus`` in first-seen order.

    With ``base_vocab`` (fine-tuning on new data) the old ids are kept and only unseen tokens are appended, so
    a model's embedding rows keep meaning the same glosses.
    """
    vocab = dict(base_vocab) if base_vocab else {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    for token in SPECIAL_TOKENS:
        if token not in vocab:
            raise ValueError(f"base vocabulary lacks the special token {token!r}")
    for sentence in corpus:
        for token in sentence.split():
            if token not in vocab:
                vocab[token] = len(vocab)
    return vocab


def gloss_tokenizer_from_vocabulary(
    vocab: dict[str, int], model_max_length: int = 20
) -> PreTrainedTokenizerFast:
    """A fast tokenizer over ``vocab`` that appends ``</s>`` (the decoder starts from ``<s>`` on its own)."""
    missing = [token for token in SPECIAL_TOKENS if token not in vocab]
    if missing:
        raise ValueError(f"vocabulary lacks the special tokens {missing}")
    backend = Tokenizer(WordLevel(vocab, unk_token=UNK))
    backend.pre_tokenizer = WhitespaceSplit()
    backend.post_processor = TemplateProcessing(
        single=f"$A {EOS}", pair=f"$A $B {EOS}", special_tokens=[(EOS, vocab[EOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        model_max_length=model_max_length,
    )


def build_gloss_tokenizer(
    corpus: Iterable[str], base_tokenizer: PreTrainedTokenizerFast | None = None, model_max_length: int = 20
) -> PreTrainedTokenizerFast:
    """Tokenizer for the glosses (or words) of ``corpus``; extends ``base_tokenizer`` when given."""
    base_vocab = base_tokenizer.get_vocab() if base_tokenizer is not None else None
    return gloss_tokenizer_from_vocabulary(build_vocabulary(corpus, base_vocab), model_max_length)


__all__ = ["build_gloss_tokenizer", "build_vocabulary", "gloss_tokenizer_from_vocabulary", "SPECIAL_TOKENS"]
