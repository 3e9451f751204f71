"""Conference Dissent & Appeals Service."""

__version__ = "0.1.0"
