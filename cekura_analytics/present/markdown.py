"""Markdown: the report (a summary with PNG charts, to paste into a ticket) and the release
gate's pull-request comment.

Every value is escaped by the jinja environment's ``finalize`` hook (the Markdown analogue of
autoescaping): HTML entities, Markdown punctuation, newlines folded. Only what this module
builds itself (code fences, image links) passes through unescaped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from .text import gate_headline, p_value, points, side, visible

if TYPE_CHECKING:
    from ..analysis.release_gate import GateResult


class _Raw(str):
    """Markdown the code built itself (fences, image links): not escaped again."""


def md_escape(value: Any) -> str:
    """One line of inert Markdown: HTML entities, Markdown punctuation escaped."""
    if isinstance(value, _Raw):
        return str(value)
    text = "" if value is None else visible(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"[\\`*_\[\]|~#!]", lambda m: "\\" + m.group(0), text)
    return " ".join(text.split())  # a newline could end a table row or list item


def _fenced(text: str, lang: str = "") -> _Raw:
    """A code block whose fence is longer than any backtick run inside ``text`` (its control
    characters shown, not sent to the reader's terminal)."""
    text = visible(text)
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


__all__ = ["gate_markdown", "md_escape", "render_markdown"]


def gate_markdown(g: GateResult) -> str:
    """The release gate as a PR-comment table, worst first; cell text escaped for Markdown."""
    c0 = g.comparison
    head = f"### {'✅' if g.passed else '❌'} {md_escape(gate_headline(g))}"
    lines = [
        head,
        "",
        "Each cell compares the versions scenario by scenario (only scenarios run on both; "
        "Cochran-Mantel-Haenszel test, Mantel-Haenszel change). A cell fails when the "
        f"candidate is worse at α = {c0.alpha:g} after Holm's correction over the tested cells "
        f"and its drop exceeds {points(c0.max_drop, signed=False)}; a cell with no common "
        f"scenario or fewer than {c0.min_n} results on a side is not tested. "
        "n: runs (scenarios); intervals: 95 %, clustered by scenario.",
        "",
        f"| status | cell | {md_escape(g.baseline)} | {md_escape(g.candidate)} "
        "| change [95 %] | naive | verdict | Holm p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in g.worst_first():
        k = c.cmp
        change = f"{points(k.change)} [{points(k.ci_low_change)}, {points(k.ci_high_change)}]"
        lines.append(
            f"| {g.status(c)} | {md_escape(c.name)} | {side(c, 'baseline')} "
            f"| {side(c, 'candidate')} | {change} | {points(k.naive_change)} "
            f"| {c.verdict.verdict}{' (mostly flaky: rerun)' if c.mostly_flaky else ''} "
            f"| {p_value(c.verdict.p_holm_worse)} |"
        )
    return "\n".join(lines) + "\n"
