"""Settings: base URL and API key from arguments, the environment, or a ``.env`` file.

The key is a secret: :class:`Settings` never shows it in ``repr``/``str``, and nothing in
the toolkit writes it anywhere but the request header.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .errors import ConfigError

DEFAULT_BASE_URL = "https://api.cekura.ai"
ENV_KEY = "CEKURA_API_KEY"
ENV_BASE_URL = "CEKURA_BASE_URL"
#: the official ``cekura`` SDK's variable for the same thing; ``CEKURA_BASE_URL`` wins
ENV_API_URL = "CEKURA_API_URL"


@dataclass(frozen=True)
class Settings:
    """Where the API is and how to authenticate; ``api_key`` is hidden from repr."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str = field(default="", repr=False)

    def __str__(self) -> str:
        return f"Settings(base_url={self.base_url!r}, api_key={'set' if self.api_key else 'unset'})"


def _dotenv(start: Path | None = None) -> dict[str, str]:
    """Values from ``.env`` in the working directory (if any)."""
    path = (start or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def normalise_base_url(url: str) -> str:
    """Validate a base URL and strip the trailing slash; reject credentials in it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"base URL {url!r} is not an http(s) URL: pass e.g. --base-url https://api.cekura.ai"
        )
    if parts.username or parts.password:
        raise ConfigError("base URL must not contain credentials: put the key in CEKURA_API_KEY")
    return url.strip().rstrip("/")


def load_settings(
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    require_key: bool = True,
) -> Settings:
    """Resolve settings: explicit arguments, then the environment, then ``.env``."""
    env = _dotenv()
    url = (
        base_url
        or os.environ.get(ENV_BASE_URL)
        or env.get(ENV_BASE_URL)
        or os.environ.get(ENV_API_URL)
        or env.get(ENV_API_URL)
        or DEFAULT_BASE_URL
    )
    key = api_key or os.environ.get(ENV_KEY) or env.get(ENV_KEY) or ""
    if require_key and not key:
        raise ConfigError(
            f"no API key: set {ENV_KEY} in the environment or in a .env file in this directory"
        )
    return Settings(base_url=normalise_base_url(url), api_key=key.strip())
