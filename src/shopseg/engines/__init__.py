"""Execution engines other than the default single-machine one (DuckDB + numpy).

Each engine lives in its own folder and runs the same stages with the same definitions,
so that a shop too large for one machine gets the segments one machine would give it.
"""
