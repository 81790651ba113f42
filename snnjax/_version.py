"""The package version (its own module: snnjax.checkpoint reads it without importing the package back)."""

__version__ = "0.1.0"
