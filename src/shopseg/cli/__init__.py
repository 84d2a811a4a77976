"""The command-line face: ``shopseg`` (see :mod:`shopseg.cli.app`)."""
