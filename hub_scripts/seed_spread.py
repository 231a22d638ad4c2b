"""How much a run's scores move with the training seed, from the documented studies: a main-job run is one seed,
and attention maps are known to vary across seeds (Wiegreffe & Pinter 2019), so its report puts each headline
score next to the mean and standard deviation over seeds of a study that trained the same recipe on the same data.

The documented studies are the ``study.json`` files of ``hub_scripts.study`` runs kept in ``docs/studies/<name>/``
(the commands that made them: docs/studies.md). A study applies to a run only when one of its variants trained
exactly the run's recipe on the same data (``hub_scripts.train.recipe_differences``, the seed aside): the spread of
another recipe says nothing about this one, so then none is shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub_scripts.train import recipe_differences

# In a source checkout; an installed package without docs/ finds no study and shows no spread.
DOCUMENTED_STUDIES = Path(__file__).resolve().parents[1] / "docs" / "studies"


def documented_spread(training: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any] | None:
    """The seed spread of the documented study variant that trained ``training`` (``options_record``) on
    ``dataset`` (``dataset_record``): ``{"study", "variant", "seeds", "scores": {name: {"mean", "sd", "n"}},
    "labels": {name: {"label", "percent"}}}``, or None when no documented study trained that."""
    asked = training | {"dataset": dataset}
    for path in sorted(DOCUMENTED_STUDIES.glob("*/study.json")):
        study = json.loads(path.read_text(encoding="utf-8"))
        for variant, summary in study["summary"].items():
            done = [run for run in study["runs"] if run["variant"] == variant and run["status"] == "done"]
            recorded = done[0]["options"] | {"dataset": done[0]["dataset"]} if done else None
            if recorded is not None and not recipe_differences(recorded, asked, ignore=("seed",)):
                return {
                    "study": path.relative_to(DOCUMENTED_STUDIES.parents[1]).as_posix(),
                    "variant": variant,
                    "seeds": len(done),
                    "scores": summary["scores"],
                    "labels": study["scores"],
                }
    return None
