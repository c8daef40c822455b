"""Data files a component config names (standard library only: the app reads them too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional


def named_files(
    config: Dict[str, Any], main_key: str, extras_key: str, default: Path, root: Optional[Path]
) -> List[Path]:
    """`config[main_key]` (default: the shipped file), then the files of `config[extras_key]`.

    Relative paths are relative to `root` if given (the engine reads them from its working
    directory, the project root)."""
    named = [Path(config.get(main_key) or default)]
    named += [Path(p) for p in config.get(extras_key) or []]
    return [p if root is None or p.is_absolute() else root / p for p in named]
