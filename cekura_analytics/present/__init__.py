"""Everything a person reads: numbers as text and command output (``text``, ``output``),
Markdown and JUnit, altair charts (``theme``, ``charts``, ``mode_charts``) and the offline
report (``document``, ``templates/``). The only stage that renders.
"""
