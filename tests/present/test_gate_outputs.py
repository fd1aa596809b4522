"""The release gate's outputs: JUnit XML a CI server reads, the Markdown PR comment, the text."""

from __future__ import annotations

import json
from pathlib import Path

import xmlschema
from click.testing import CliRunner
from gate_data import REGRESSION, write_versions

from cekura_analytics.analysis.release_gate import gate
from cekura_analytics.cli import cli
from cekura_analytics.present.markdown import gate_markdown
from cekura_analytics.present.output import write_gate

XSD = Path(__file__).parents[1] / "data" / "junit.xsd"


def test_junit_is_valid_and_carries_the_numbers(tmp_path: Path) -> None:
    counts = dict(REGRESSION) | {("v1", "Tone"): (5, 5), ("v2", "Tone"): (5, 5)}
    counts[("v2", "Clarity | <b>")] = counts.pop(("v2", "Clarity"))  # hostile name
    counts[("v1", "Clarity | <b>")] = counts.pop(("v1", "Clarity"))
    d = write_versions(tmp_path / "d", counts)
    result = gate(d, 1)
    path = tmp_path / "gate.xml"
    write_gate(result, junit=path)
    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(str(path))
    tree = schema.to_dict(str(path))
    cases = tree["testsuite"][0]["testcase"]
    assert len(cases) == 4
    failing = [c for c in cases if "failure" in c]
    assert [c["@name"] for c in failing] == ["Empathy"]
    message = failing[0]["failure"][0]["@message"]
    assert "95.0 %" in message and "70.0 %" in message and "n=100" in message
    assert "Holm p=" in message and "CMH" in message and "n=100 (1)" in message
    assert [c["@name"] for c in cases if "skipped" in c] == ["Tone"]
    assert "Clarity | <b>" in [c["@name"] for c in cases]  # escaped by the XML writer
    assert "Clarity \\| &lt;b&gt;" in gate_markdown(result)


def test_gate_json_is_one_document_with_the_exit_code(tmp_path: Path) -> None:
    counts = dict(REGRESSION) | {("v1", "Tone"): (5, 5), ("v2", "Tone"): (5, 5)}
    d = write_versions(tmp_path / "d", counts)
    res = CliRunner().invoke(cli, ["gate", "--data-dir", str(d), "--agent-id", "1",
                                   "--format", "json"])  # fmt: skip
    doc = json.loads(res.output)
    assert res.exit_code == doc["exit_code"] == 1 and doc["passed"] is False
    assert (doc["baseline"], doc["candidate"], doc["agent_id"]) == ("v1", "v2", 1)
    assert (doc["n_cells"], doc["n_failed"], doc["n_insufficient"]) == (4, 1, 1)
    assert doc["settings"]["max_drop"] == 0.05
    first, last = doc["cells"][0], doc["cells"][-1]
    assert (first["metric_name"], first["status"], first["verdict"]) == ("Empathy", "fail", "worse")
    assert (first["n_baseline"], first["rate_baseline"]) == (100, 0.95)
    assert (last["metric_name"], last["status"]) == ("Tone", "insufficient")
    assert [c["status"] for c in doc["cells"]].count("pass") == 2
