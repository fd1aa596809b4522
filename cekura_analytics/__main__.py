"""``python -m cekura_analytics`` runs the CLI."""

from .cli import main

main()
