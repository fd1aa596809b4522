"""The release gate as JUnit XML: one testcase per cell, which GitHub, GitLab and Jenkins render.

A regression is a ``<failure>`` with the numbers, an insufficient cell ``<skipped>``, a passing
one carries its numbers in ``<system-out>``. Names come from the API (untrusted): the XML
writer escapes markup, and :func:`~.text.visible` shows what XML 1.0 cannot carry at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from .text import gate_message, visible

if TYPE_CHECKING:
    from ..analysis.release_gate import GateResult


def gate_junit(g: GateResult) -> str:
    """JUnit XML: one testcase per cell; failure for a regression, skipped for too few."""
    suite = ET.Element(
        "testsuite",
        name=visible(f"cekura-gate agent {g.agent_id} {g.baseline} -> {g.candidate}"),
        tests=str(len(g.cells)),
        failures=str(len(g.failures)),
        errors="0",
        skipped=str(len(g.insufficient)),
    )
    props = ET.SubElement(suite, "properties")
    settings = {"agent_id": g.agent_id, "baseline": g.baseline, "candidate": g.candidate}
    for name, value in (settings | g.settings).items():
        ET.SubElement(props, "property", name=name, value=visible(value))
    for c in g.worst_first():
        message = visible(gate_message(g, c))
        case = ET.SubElement(
            suite,
            "testcase",
            name=visible(c.name),
            classname=f"cekura.gate.{g.comparison.by}",
            time="0",
        )
        if g.status(c) == "fail":
            failure = ET.SubElement(case, "failure", type="regression")
            failure.set("message", message)
            failure.text = message
        elif g.status(c) == "insufficient":
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = message
    root = ET.Element("testsuites", name="cekura-analytics gate")
    root.set("tests", str(len(g.cells)))
    root.set("failures", str(len(g.failures)))
    root.set("errors", "0")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
