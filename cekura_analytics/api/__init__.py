"""The Cekura API as the toolkit reads it: one client (auth, retries, paging, v1/v2 reads,
bounded concurrency) and the wire shapes it validates (``models``, ``jobs_wire``).

First stage of the data's path: api → lake → warehouse → analysis → improve → present.
"""
