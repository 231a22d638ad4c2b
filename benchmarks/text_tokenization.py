"""Word-level or subword tokens for the Greek text setting: what each costs on the GSL translations.

    python benchmarks/text_tokenization.py [--config si] [--bpe-sizes 300 600 1200]

The text setting (``hub_scripts.reproduce``'s ``si_text``) trains the paper model to write the Greek translation of
each clip, lowercased (``dataset_builder.loading.PoseSplit.targets``). This compares, on the real annotations of the
chosen GSL config (``dataset_builder/data/gsl``), the word-level tokenizer the package builds for glosses and words
(``build_gloss_tokenizer``) with byte-pair encodings trained by ``tokenizers`` on the same training sentences:

* vocabulary size (the decoder's output layer, 16 x vocabulary weights in the paper model);
* tokens per sentence, mean and most, and the sentences longer than the decoder's positions
  (``SignAttentionConfig.max_target_positions``, start token included), which training would cut;
* test tokens the training vocabulary lacks (``<unk>``), and test sentences that come back unchanged from
  encode -> decode.

Nothing is trained and nothing timed: the numbers are counts, the same on every machine.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from dataset_builder.gsl import CONFIGS, SPLITS, load_split
from dataset_builder.loading import sentence_targets
from modeling_signattention import SignAttentionConfig, build_gloss_tokenizer
from modeling_signattention.tokenization_signattention import SPECIAL_TOKENS, UNK


def text_targets(config: str, split: str) -> list[str]:
    """A split's text targets as the text setting trains on them (clips without a translation left out)."""
    clips = load_split(config, split)
    targets = sentence_targets([clip.gloss for clip in clips], [clip.text for clip in clips], "text")
    return [target for target in targets if target]


def measure(name: str, vocab_size: int, encode, decode, unk_id: int, train, test, positions: int) -> dict:
    """One tokenizer's counts on the training and test sentences (module docstring)."""
    train_lengths = np.array([len(encode(sentence)) for sentence in train])
    test_ids = [encode(sentence) for sentence in test]
    unknown = sum(ids.count(unk_id) for ids in test_ids)
    unchanged = sum(decode(ids) == sentence for ids, sentence in zip(test_ids, test, strict=True))
    return {
        "tokenizer": name,
        "vocabulary": vocab_size,
        "train tokens per sentence, mean": round(float(train_lengths.mean()), 2),
        "train tokens per sentence, most": int(train_lengths.max()),
        f"train sentences over {positions - 1} tokens (cut)": int(np.sum(train_lengths > positions - 1)),
        "test tokens unknown": f"{unknown} / {sum(len(ids) for ids in test_ids)}",
        "test sentences back unchanged": f"{unchanged} / {len(test)}",
    }


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=CONFIGS, default="si")
    parser.add_argument("--bpe-sizes", type=int, nargs="+", default=[300, 600, 1200])
    args = parser.parse_args(argv)
    train, test = text_targets(args.config, SPLITS[0]), text_targets(args.config, SPLITS[-1])
    positions = SignAttentionConfig().max_target_positions

    words = build_gloss_tokenizer(train)
    rows = [
        measure(
            "word level (build_gloss_tokenizer)",
            len(words),
            lambda sentence: words(sentence, add_special_tokens=False)["input_ids"],
            lambda ids: words.decode(ids, skip_special_tokens=False),
            words.unk_token_id,
            train,
            test,
            positions,
        )
    ]
    for size in args.bpe_sizes:
        bpe = Tokenizer(models.BPE(unk_token=UNK, continuing_subword_prefix="##"))
        bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        bpe.train_from_iterator(
            train,
            trainers.BpeTrainer(
                vocab_size=size, special_tokens=list(SPECIAL_TOKENS), continuing_subword_prefix="##"
            ),
        )

        def decode(ids: list[int], bpe: Tokenizer = bpe) -> str:
            return " ".join(bpe.id_to_token(i) for i in ids).replace(" ##", "")

        rows.append(
            measure(
                f"BPE, {size} tokens asked",
                bpe.get_vocab_size(),
                lambda sentence, bpe=bpe: bpe.encode(sentence).ids,
                decode,
                bpe.token_to_id(UNK),
                train,
                test,
                positions,
            )
        )
    print(f"GSL {args.config}: {len(train)} training sentences, {len(test)} test sentences (lowercased text)")
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return rows


if __name__ == "__main__":
    main()
