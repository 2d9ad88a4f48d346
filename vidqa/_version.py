"""The package version (kernel: imported by the store to stamp runs)."""

__version__ = "0.1.0"
