"""From bad runs to better prompts: improve jobs launched once and collected (``jobs``), their
crash-safe ledger (``ledger``), and whether the shipped change helped (``impact``).
"""
