"""Reading YAML files (settings, domain, texts, lookups): one loader for the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# libyaml when PyYAML was built with it (the domain files load ten times faster; same data).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The data of a YAML file, with the safe loader."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
