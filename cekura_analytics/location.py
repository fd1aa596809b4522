"""Where a data dir lives: a local directory or object storage, and the delta-rs options.

Credentials come from the usual environment variables (``AWS_*``, ``GOOGLE_*``,
``AZURE_*``), read by delta-rs itself; nothing here stores them.
"""

from __future__ import annotations

import os
from pathlib import Path

_REMOTE = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "azure://")


def is_remote(data_dir: str | Path) -> bool:
    """True for object storage URIs (s3://, gs://, az://, ...)."""
    return str(data_dir).startswith(_REMOTE)


def location(data_dir: str | Path) -> str:
    """The data dir as delta-rs wants it: a URI, or an absolute local path."""
    text = str(data_dir)
    if is_remote(text):
        return text.rstrip("/")
    return str(Path(text).expanduser().resolve())


def storage_options(data_dir: str | Path) -> dict[str, str]:
    """Options for delta-rs: credentials come from the usual environment variables.

    On S3, commits use conditional put (``If-None-Match``) unless the user chose a locking
    provider or unsafe renames in the environment.
    """
    opts: dict[str, str] = {}
    if str(data_dir).startswith(("s3://", "s3a://")):
        chosen = {"AWS_S3_LOCKING_PROVIDER", "AWS_S3_ALLOW_UNSAFE_RENAME", "AWS_CONDITIONAL_PUT"}
        if not chosen & set(os.environ):
            opts["conditional_put"] = "etag"
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        if endpoint.startswith("http://"):
            opts["allow_http"] = "true"
    return opts
