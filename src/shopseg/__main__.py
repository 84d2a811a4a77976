"""``python -m shopseg`` runs the CLI."""

from shopseg.cli.app import run

run()
