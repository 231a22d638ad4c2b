"""The interpretability layer: what the model attended to, as maps, scores and figures (arXiv:2410.14506).

One module per job, data flowing down the list:

* ``decoding``: decode poses with ``generate()`` and keep the attention maps and block outputs (``Translation``),
  or read those of glosses decoded elsewhere, such as the pipeline's (``read_attention``);
* ``aggregation``: maps of many clips on a relative time axis, averaged per sentence length;
* ``alignment``, ``contribution``: the paper's scores (diagonality, clusters, gold alignment; video versus
  previous-token share per decoding step), plain numpy in, dicts out;
* ``storage``: translations to and from ``.npz`` without pickles;
* ``figures``: the matplotlib figures;
* ``schema``: the names, captions and labels of what a run writes, read by every script and page that shows it;
* ``results``: ``interpretability.json`` read back as a typed ``RunScores``, the one reader of every page.

The Hub custom-code files (configuration, modeling, feature extraction) never import this package: a model folder
on the Hub stays self-contained.
"""

from .aggregation import mean_attention_by_length, resample_attention
from .alignment import compute_attention_alignment
from .contribution import compute_decoder_contributions
from .decoding import Translation, read_attention, spans_to_model_frames, translate_with_attention
from .figures import (
    plot_contributions,
    plot_cross_attention,
    plot_encoder_attention,
    plot_mean_attention_grid,
)
from .storage import load_translations, save_translations

__all__ = [
    "Translation",
    "compute_attention_alignment",
    "compute_decoder_contributions",
    "load_translations",
    "mean_attention_by_length",
    "plot_contributions",
    "plot_cross_attention",
    "plot_encoder_attention",
    "plot_mean_attention_grid",
    "read_attention",
    "resample_attention",
    "save_translations",
    "spans_to_model_frames",
    "translate_with_attention",
]
