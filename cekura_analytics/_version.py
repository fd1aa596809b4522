"""The package version, in one place (the report and the CLI show it)."""

__version__ = "0.1.0"
