"""The package version (kernel: imported by the store to stamp runs)."""

__all__ = ['__version__']

__version__ = "0.1.0"
