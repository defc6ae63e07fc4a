"""Subcommands of the ``derive`` command line, one module each (see :mod:`derive.cli`)."""

__all__: list[str] = []
