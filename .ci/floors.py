"""Print pip constraints that pin the libraries whose APIs this package calls to the floors setup.cfg declares.

CI installs the package under these constraints in a second environment and runs the suite there, so each declared
floor is a tested one. The floors are read from setup.cfg, where they are written once. The other dependencies
resolve to their newest releases, numpy 2 included: that environment has no MediaPipe, which is what needs numpy<2.
"""

import configparser
import re
from pathlib import Path

API_LIBRARIES = ("torch", "transformers", "huggingface_hub", "datasets", "accelerate", "evaluate")


def declared_floors(setup_cfg: Path) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(setup_cfg)
    floors = {}
    for line in parser["options"]["install_requires"].splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([^,\s]+)", line.strip())
        if match:
            floors[match.group(1).lower()] = match.group(2)
    return floors


if __name__ == "__main__":
    floors = declared_floors(Path(__file__).resolve().parent.parent / "setup.cfg")
    missing = [name for name in API_LIBRARIES if name not in floors]
    if missing:
        raise SystemExit(f"setup.cfg declares no floor (name>=version) for {missing}")
    for name in API_LIBRARIES:
        print(f"{name}=={floors[name]}")
