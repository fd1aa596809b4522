"""The lake: one Delta Lake table per entity under a data dir (local or object storage).

``tables`` is the registry of every table and its columns; ``rows`` and ``normalize`` turn API
objects into rows; ``store`` commits them (ACID, with the sync state); ``sync`` is ``extract``;
``maintenance`` compacts, vacuums, repairs and converts the old layout.
"""
