"""An independent rebuild of the official ``KeypointsTransformer`` and its decoding loops: the architecture whose
checkpoints ``convert_official_checkpoint`` reads, shipped with it for the tests and benchmarks that compare the two.

Written from the architecture's description (Conv1d embedder -> ``torch.nn.Transformer(batch_first=True)`` ->
linear generator; interleaved sinusoidal positions; token embeddings scaled by sqrt(d_model)), with the official
module names so its state dict has the official keys. Decoding is done the official way: no cache, the whole prefix
is run through the decoder again at every step.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, max_len: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[:, : x.size(1)])


class Conv1DEmbedder(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, width: int = 128):
        super().__init__()
        self.conv1d_1 = nn.Conv1d(in_channels, width, 1)
        self.conv1d_4 = nn.Conv1d(width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1d_1(x.permute(0, 2, 1)))
        return torch.relu(self.conv1d_4(x)).permute(0, 2, 1)


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.d_model = d_model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens.long()) * math.sqrt(self.d_model)


class KeypointsTransformer(nn.Module):
    def __init__(
        self,
        in_features: int = 225,
        vocab_size: int = 50,
        d_model: int = 16,
        src_len: int = 220,
        tgt_len: int = 20,
        num_encoder_layers: int = 1,
        num_decoder_layers: int = 1,
        dropout: float = 0.2,
    ):
        super().__init__()
        self.src_keyp_emb = Conv1DEmbedder(in_features, d_model)
        self.src_pe = PositionalEncoding(d_model, src_len)
        self.tgt_tok_emb = TokenEmbedding(vocab_size, d_model)
        self.tgt_pe = PositionalEncoding(d_model, tgt_len)
        self.transformer = nn.Transformer(
            d_model=d_model,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            dropout=dropout,
            batch_first=True,
        )
        self.generator = nn.Linear(d_model, vocab_size)

    def encode(self, src: torch.Tensor, src_padding_mask: torch.Tensor | None) -> torch.Tensor:
        return self.transformer.encoder(
            self.src_pe(self.src_keyp_emb(src)), src_key_padding_mask=src_padding_mask
        )

    def decode(
        self, tgt: torch.Tensor, memory: torch.Tensor, memory_padding_mask: torch.Tensor | None
    ) -> torch.Tensor:
        causal = self.transformer.generate_square_subsequent_mask(tgt.size(1))
        return self.transformer.decoder(
            self.tgt_pe(self.tgt_tok_emb(tgt)),
            memory,
            tgt_mask=causal,
            memory_key_padding_mask=memory_padding_mask,
        )

    def forward(
        self, src: torch.Tensor, tgt: torch.Tensor, src_padding_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Logits ``(N, T, vocab)``. ``src_padding_mask`` is True at padded frames (PyTorch's convention)."""
        return self.generator(self.decode(tgt, self.encode(src, src_padding_mask), src_padding_mask))


@torch.no_grad()
def greedy_decode_no_cache(
    model: KeypointsTransformer,
    src: torch.Tensor,
    src_padding_mask: torch.Tensor | None,
    bos: int,
    eos: int,
    max_len: int,
) -> torch.Tensor:
    """The official loop: encode once, then re-decode the whole prefix each step and take the argmax."""
    memory = model.encode(src, src_padding_mask)
    ys = torch.full((src.size(0), 1), bos, dtype=torch.long)
    finished = torch.zeros(src.size(0), dtype=torch.bool)
    while ys.size(1) < max_len and not finished.all():
        next_token = model.generator(model.decode(ys, memory, src_padding_mask)[:, -1]).argmax(-1)
        next_token = next_token.masked_fill(finished, 0)  # pad after EOS, as generate() does
        ys = torch.cat([ys, next_token[:, None]], dim=1)
        finished |= next_token == eos
    return ys


@torch.no_grad()
def beam_search_one_sample(
    model: KeypointsTransformer, src: torch.Tensor, bos: int, eos: int, max_len: int, num_beams: int
) -> list[int]:
    """Plain beam search for one clip (no cache, no batching): the baseline a batched, cached search must beat."""
    memory = model.encode(src[None], None)
    beams: list[tuple[float, list[int]]] = [(0.0, [bos])]
    done: list[tuple[float, list[int]]] = []
    for _ in range(max_len - 1):
        candidates = []
        for score, tokens in beams:
            log_probs = model.generator(
                model.decode(torch.tensor([tokens]), memory, None)[:, -1]
            ).log_softmax(-1)[0]
            top = log_probs.topk(num_beams)
            candidates += [
                (score + s.item(), tokens + [t.item()]) for s, t in zip(top.values, top.indices, strict=True)
            ]
        candidates.sort(key=lambda c: c[0], reverse=True)
        beams = []
        for score, tokens in candidates[: 2 * num_beams]:
            (done if tokens[-1] == eos else beams).append((score, tokens))
            if len(beams) == num_beams:
                break
        if len(done) >= num_beams:
            break
    best = max(done + beams, key=lambda c: c[0] / len(c[1]))
    return best[1]
