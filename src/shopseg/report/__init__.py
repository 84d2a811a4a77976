"""The HTML report of a run: one self-contained file with interactive charts, offline."""

from shopseg.report.build import build_report

__all__ = ["build_report"]
