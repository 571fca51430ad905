"""abiguard: catch C ABI breaks on every CPU architecture at once."""

__version__ = "0.1.0"
