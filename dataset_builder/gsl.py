"""The Greek Sign Language (GSL) continuous corpus annotations: split files, Greek text, clip paths.

The annotation files in ``data/gsl`` come from iliasprc/slrzoo (MIT, see ``data/gsl/ATTRIBUTION.md``):

* split files ``scenario/clip_path|GLOSS GLOSS ...``, one clip per line; two split schemes:
  ``si`` (signer independent: signer3 is held out for validation/test) and ``sd`` (signer dependent);
* ``annotations.csv`` ``clip_path|greek text|GLOSSES`` for every clip, but *without* the leading
  ``scenario/`` of the split files, so the two are joined on the split path minus its first component;
* ``classes.csv``: the 310 glosses, one a line.

The split files' glosses are authoritative: ``annotations.csv`` disagrees with them on a few rows (e.g.
``ΚΑΤΩ(1)`` vs ``ΚΑΤΩ(2)``) and only its Greek text is used.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

GSL_DATA_DIR = Path(__file__).parent / "data" / "gsl"
SPLITS = ("train", "validation", "test")
SPLIT_FILES: dict[str, dict[str, str]] = {
    "si": {
        "train": "gsl_split_SI_train.csv",
        "validation": "gsl_split_SI_dev.csv",
        "test": "gsl_split_SI_test.csv",
    },
    "sd": {
        "train": "GSL_SD_train.csv",
        "validation": "GSL_SD_dev.csv",
        "test": "GSL_SD_test.csv",
    },
}
CONFIGS = tuple(SPLIT_FILES)

# e.g. "police1/police1_signer1_rep1_sentences/sentences0000": scenario, signer, repetition
_CLIP_PATH = re.compile(r"^(?P<scenario>[^/]+)/[^/]*_(?P<signer>signer\d+)_rep(?P<rep>\d+)_[^/]*/[^/]+$")


@dataclass(frozen=True)
class GSLClip:
    """One row of a split file, joined with its Greek translation."""

    id: str  # the split-file path, e.g. "police1/police1_signer1_rep1_sentences/sentences0000"
    scenario: str
    signer: str
    repetition: int
    glosses: tuple[str, ...]
    text: str  # "" when annotations.csv has no text for this clip (reported by load_split)

    @property
    def gloss(self) -> str:
        return " ".join(self.glosses)


def split_file(config: str, split: str, data_dir: Path | str = GSL_DATA_DIR) -> Path:
    """Path of the split file for ``config``/``split``; unknown names raise with the valid ones."""
    if config not in SPLIT_FILES:
        raise ValueError(f"Unknown GSL config {config!r}; valid configs: {', '.join(CONFIGS)}")
    if split not in SPLIT_FILES[config]:
        raise ValueError(f"Unknown GSL split {split!r}; valid splits: {', '.join(SPLITS)}")
    return Path(data_dir) / SPLIT_FILES[config][split]


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines of a UTF-8 text file with their 1-based line numbers."""
    with open(path, encoding="utf-8") as f:
        return [(n, line.rstrip("\r\n")) for n, line in enumerate(f, 1) if line.strip()]


def read_split_file(path: Path | str) -> list[tuple[str, tuple[str, ...]]]:
    """``(clip path, glosses)`` per line of a ``path|GLOSS GLOSS ...`` split file.

    A line without ``|``, with an unparsable path or with no gloss is a ValueError naming ``file:line``:
    silently skipping it would shift the split sizes everyone compares against.
    """
    path = Path(path)
    rows = []
    for n, line in _read_lines(path):
        clip, sep, glosses = line.partition("|")
        if not sep:
            raise ValueError(f"{path}:{n}: expected 'clip_path|GLOSS ...', found no '|' in {line!r}")
        if not glosses.split():
            raise ValueError(f"{path}:{n}: no gloss after '|' in {line!r}")
        try:
            parse_clip_path(clip.strip())
        except ValueError as err:
            raise ValueError(f"{path}:{n}: {err}") from None
        rows.append((clip.strip(), tuple(glosses.split())))
    return rows


def read_annotations(path: Path | str = GSL_DATA_DIR / "annotations.csv") -> dict[str, str]:
    """Greek text by clip path *without* scenario prefix, from ``path|greek text|GLOSSES`` lines.

    A few upstream rows have an empty text; those take the most frequent text of the rows with the same
    gloss sequence (the same sentence signed by someone else), so that only sentences nobody
    translated stay empty.
    """
    path = Path(path)
    rows = []
    for n, line in _read_lines(path):
        fields = line.split("|")
        if len(fields) != 3 or not fields[0].strip():
            raise ValueError(f"{path}:{n}: expected 'clip_path|greek text|GLOSSES', got {line!r}")
        rows.append((fields[0].strip(), fields[1].strip(), tuple(fields[2].split())))
    by_glosses: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for _, text, glosses in rows:
        if text:
            by_glosses[glosses][text] += 1
    fallback = {glosses: texts.most_common(1)[0][0] for glosses, texts in by_glosses.items()}
    return {clip: text or fallback.get(glosses, "") for clip, text, glosses in rows}


def read_vocabulary(path: Path | str = GSL_DATA_DIR / "classes.csv") -> list[str]:
    """The gloss vocabulary (``classes.csv``), in file order."""
    return [line.strip() for _, line in _read_lines(Path(path))]


def parse_clip_path(clip: str) -> tuple[str, str, int]:
    """``(scenario, signer, repetition)`` of a split path such as ``police1/police1_signer1_rep1_sentences/x``."""
    match = _CLIP_PATH.match(clip)
    if match is None:
        raise ValueError(
            f"Cannot parse scenario/signer/repetition from clip path {clip!r}; "
            "expected 'scenario/<scenario>_signerN_repM_<kind>/<clip>'"
        )
    return match["scenario"], match["signer"], int(match["rep"])


def annotation_key(clip: str) -> str:
    """The ``annotations.csv`` key of a split path: the path after its first ``/`` (the scenario)."""
    return clip.split("/", 1)[-1]


def load_split(
    config: str,
    split: str,
    data_dir: Path | str = GSL_DATA_DIR,
    texts: dict[str, str] | None = None,
) -> list[GSLClip]:
    """The clips of one split, in file order, each with its Greek text.

    Rows with no (or an empty) Greek text keep ``text=""`` and are logged (count and first few ids)
    rather than dropped, so split sizes always match the published ones.
    """
    path = split_file(config, split, data_dir)
    if texts is None:
        texts = read_annotations(Path(data_dir) / "annotations.csv")
    clips, untranslated = [], []
    for clip, glosses in read_split_file(path):
        scenario, signer, repetition = parse_clip_path(clip)
        text = texts.get(annotation_key(clip), "")
        if not text:
            untranslated.append(clip)
        clips.append(GSLClip(clip, scenario, signer, repetition, glosses, text))
    if untranslated:
        logger.warning(
            "%s: %d of %d clips have no Greek text in annotations.csv (e.g. %s)",
            path.name,
            len(untranslated),
            len(clips),
            ", ".join(untranslated[:3]),
        )
    return clips
