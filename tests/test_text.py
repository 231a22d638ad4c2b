"""The text setting's targets: the Greek translations of the GSL annotations (``dataset_builder/data/gsl``) through
the tokenizer as training builds it and evaluation decodes it, and their BLEU / chrF as sacreBLEU gives them. The
quick main job (``test_interpret.test_reproduce_quick_end_to_end``) checks a trained text model end to end."""

from __future__ import annotations

import pytest
import sacrebleu
from transformers import AutoTokenizer

from dataset_builder.gsl import SPLITS, load_split
from dataset_builder.loading import sentence_targets
from hub_scripts.evaluate import decode_sentences, score
from hub_scripts.train import build_tokenizer, encode_targets
from modeling_signattention import SignAttentionConfig


def gsl_text(split: str) -> list[str]:
    """The Greek translations of a GSL SI split as the text setting's targets (untranslated clips left out)."""
    clips = load_split("si", split)
    targets = sentence_targets([clip.gloss for clip in clips], [clip.text for clip in clips], "text")
    return [target for target in targets if target]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(gsl_text("train"), init_from=None)


def test_greek_sentences_round_trip_through_the_tokenizer(tokenizer, tmp_path):
    """Every translation of every split comes back from encode (as training labels) -> decode (as evaluation
    reads generated ids) unchanged, whole, ending with </s>; a word the training split lacks is the only loss."""
    max_length = SignAttentionConfig().max_target_positions
    training_words = {word for sentence in gsl_text("train") for word in sentence.split()}
    reloaded = tmp_path / "tokenizer"
    tokenizer.save_pretrained(reloaded)
    reloaded = AutoTokenizer.from_pretrained(reloaded)
    unknown_sentences = 0
    for split in SPLITS:
        sentences = gsl_text(split)
        labels = encode_targets(tokenizer, sentences, max_length)
        assert all(ids[-1] == tokenizer.eos_token_id and len(ids) <= max_length for ids in labels)
        assert [len(ids) - 1 for ids in labels] == [len(sentence.split()) for sentence in sentences]
        assert reloaded(sentences)["input_ids"] == labels
        longest = max(len(ids) for ids in labels)
        padded = [ids + [tokenizer.pad_token_id] * (longest - len(ids)) for ids in labels]
        for sentence, decoded in zip(sentences, decode_sentences(tokenizer, padded), strict=True):
            known = " ".join(word for word in sentence.split() if word in training_words)
            assert decoded == known
            unknown_sentences += known != sentence
    assert len(tokenizer) == len(training_words) + len(tokenizer.all_special_tokens)
    assert 0 < unknown_sentences < 20  # a few test and validation words occur in no training sentence


def test_text_scores_are_sacrebleus(tokenizer):
    """BLEU and chrF of text are sacreBLEU's own corpus scores (its default tokenizer), on real translations with
    errors of every kind: a word dropped, words swapped, a sentence left out."""
    references = gsl_text("test")[:200]
    predictions = []
    for index, sentence in enumerate(references):
        words = sentence.split()
        if index % 3 == 1:
            words = words[:-1]
        elif index % 3 == 2:
            words = words[::-1]
        predictions.append(" ".join(words) if index % 17 else "")
    scores = score(predictions, references, "text")
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(predictions, [references]).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(predictions, [references]).score)
    assert 0 < scores["bleu"] < scores["bleu1"] < 100
    assert "bleu" not in score(predictions, references, "gloss")  # glosses are scored by WER alone
