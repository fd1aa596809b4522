"""Generate the field lists of ``cekura_analytics/_generated_models.py`` from the OpenAPI subset.

Run: python tools/gen_models.py ../shared/cekura-api/openapi-subset.json \
         > cekura_analytics/_generated_models.py
The README's "looser than the service" rules are applied here, once: read-only plain-string
fields without a format are computed values of unknown type (Any); every field is optional
and nullable; write-only fields are never returned, so they are left out.
"""

from __future__ import annotations

import json
import keyword
import sys

OBJECTS = {
    # API object -> (class name, schema name)
    "RunList": "RunList",
    "Run": "Run",
    "Evaluation": "Evaluation",
    "MetricResult": "CallLogListSerializerMetricsWithExplanation",
    "CriticalCategory": "RunListCriticalCategories",
    "TranscriptTurn": "RunListTranscriptObject",
    "ScenarioList": "ScenarioList",
    "Scenario": "SchemaScenario",
    "Metric": "MetricList",
    "Personality": "CreatePersonality",
    "Result": "Result",
    "Agent": "AIAgent",
    "AgentV2": "AIAgentV2",
    "MetricV2": "MetricListSerializerV2",
    "TestProfile": "AIAgentTestProfile",
    "PhoneNumber": "PhoneNumberInbound",
    "ImproveInstructionsResponse": "ImproveInstructionsResponse",
}
REF_CLASS = {schema: cls for cls, schema in OBJECTS.items()}


# Declared otherwise, sent differently, as the contract's own descriptions or the docs'
# examples show (shared/cekura-api/README.md, "What the live service sends").
WIRE_ANY: set[tuple[str, str]] = {
    # a list of strings, but "" in the runs-bulk page's numeric example
    ("CallLogListSerializerMetricsWithExplanation", "explanation"),
}
# Sent on the wire but missing from the schema: canonical binary items (since 2026-07-10)
# carry eval_type and passed; every example carries function_name.
WIRE_EXTRA: dict[str, list[tuple[str, str]]] = {
    "CallLogListSerializerMetricsWithExplanation": [
        ("eval_type", "str | None"),
        ("passed", "bool | None"),
        ("function_name", "str | None"),
    ],
}


def py_type(prop: dict) -> str:
    if "$ref" in prop:
        return REF_CLASS.get(prop["$ref"].rsplit("/", 1)[1], "Any")
    if "allOf" in prop and len(prop["allOf"]) == 1 and "$ref" in prop["allOf"][0]:
        target = prop["allOf"][0]["$ref"].rsplit("/", 1)[1]
        # Run.agent_version is declared as ExpectedOutcome: a generator slip, not the wire.
        if target == "ExpectedOutcome":
            return "Any"
        return REF_CLASS.get(target, "Any")
    if "oneOf" in prop or "anyOf" in prop or (not prop.get("type") and "enum" not in prop):
        return "Any"
    t = prop.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "string":
        if prop.get("readOnly") and "format" not in prop and "enum" not in prop:
            return "Any"
        if prop.get("format") == "date-time":
            return "datetime"
        return "str"
    if "enum" in prop:
        return "str"
    if t == "integer":
        return "int"
    if t == "number":
        return "float"
    if t == "boolean":
        return "bool"
    if t == "array":
        return f"list[{py_type(prop.get('items', {}))}]"
    if t == "object":
        # Read-only objects are computed too: Result.scenarios is documented as a list.
        return "Any" if prop.get("readOnly") else "dict[str, Any]"
    return "Any"


def main(path: str) -> None:
    with open(path) as fh:
        spec = json.load(fh)
    schemas = spec["components"]["schemas"]
    out = [
        '"""Field lists generated from openapi-subset.json by tools/gen_models.py: do not edit."""',
        "",
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "from typing import Any",
        "",
        "from pydantic import BaseModel, ConfigDict",
        "",
        "",
        "class ApiModel(BaseModel):",
        '    """Base of every API object: unknown fields are kept in ``model_extra``."""',
        "",
        '    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)',
        "",
    ]
    for cls, schema_name in OBJECTS.items():
        schema = schemas[schema_name]
        out.append("")
        out.append(f"class {cls}(ApiModel):")
        out.append(f'    """``{schema_name}`` in the contract."""')
        out.append("")
        for name, prop in schema.get("properties", {}).items():
            if prop.get("writeOnly"):
                continue
            field = name + "_" if keyword.iskeyword(name) else name
            typ = "Any" if (schema_name, name) in WIRE_ANY else py_type(prop)
            hint = "Any" if typ == "Any" else f"{typ} | None"
            alias = f' = Field(default=None, alias="{name}")' if field != name else " = None"
            out.append(f"    {field}: {hint}{alias}")
        for name, hint in WIRE_EXTRA.get(schema_name, []):
            out.append(f"    {name}: {hint} = None")
        out.append("")
    text = "\n".join(out)
    if "Field(" in text:
        text = text.replace("import BaseModel, ConfigDict", "import BaseModel, ConfigDict, Field")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1])
