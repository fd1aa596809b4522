"""The Markdown flavour of the report: a summary with PNG charts, to paste into a ticket.

Every value is escaped by the jinja environment's ``finalize`` hook (the Markdown analogue of
autoescaping): HTML entities, Markdown punctuation, newlines folded. Only what this module
builds itself (code fences, image links) passes through unescaped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import jinja2


class _Raw(str):
    """Markdown the code built itself (fences, image links): not escaped again."""


def md_escape(value: Any) -> str:
    """One line of inert Markdown: HTML entities, Markdown punctuation escaped."""
    if isinstance(value, _Raw):
        return str(value)
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"[\\`*_\[\]|~#!]", lambda m: "\\" + m.group(0), text)
    return " ".join(text.split())  # a newline could end a table row or list item


def _fenced(text: str, lang: str = "") -> _Raw:
    """A code block whose fence is longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return _Raw(f"{fence}{lang}\n{text}\n{fence}")


def render_markdown(ctx: dict[str, Any], pngs: dict[str, Path], base: Path) -> str:
    """The report context as Markdown; chart images linked relative to ``base``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cekura_analytics.present", "templates"),
        autoescape=False,  # Markdown, not HTML: `finalize` escapes every value instead
        finalize=md_escape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    images = {}
    for key, png in pngs.items():
        rel = Path(os.path.relpath(png.resolve(), base.resolve())).as_posix()
        title = next(c["title"] for c in ctx["charts"] if c["key"] == key)
        images[key] = _Raw(f"![{md_escape(title)}](<{rel}>)")
    tpl = env.get_template("report.md.j2")
    return tpl.render(**ctx, images=images, fenced=_fenced)


__all__ = ["md_escape", "render_markdown"]
