"""Outputs of a run: atomic run folders and spreadsheet-safe CSV."""
