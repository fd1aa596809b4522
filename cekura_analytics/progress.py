"""The one progress bar: tqdm on a terminal or in a notebook, nothing when quiet or piped."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, unit: str, *, quiet: bool = False) -> Any:
    """A tqdm bar of ``total`` ``unit``; disabled when ``quiet`` or when nobody watches."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return tqdm(total=total, desc=desc, unit=unit, disable=quiet or not interactive)
