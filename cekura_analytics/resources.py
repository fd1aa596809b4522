"""Files shipped inside the package (SQL views, samples), found through ``importlib.resources``
so that a wheel installed anywhere carries them (not only an editable checkout)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE = "cekura_analytics"


def resource_path(*parts: str) -> Path:
    """The path of a packaged file or folder, e.g. ``resource_path("sql")``."""
    # setuptools installs package data as plain files, so the traversable is a real path
    return Path(str(resources.files(PACKAGE).joinpath(*parts)))


#: the agent prompt the demo and the notebooks improve
SAMPLE_PROMPT = resource_path("samples", "sample_prompt.txt")
#: pass rules for the mock's numeric metrics, used by the demo
DEMO_RULES = resource_path("samples", "demo-rules.toml")
