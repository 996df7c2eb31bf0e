"""mkdeal: the shared platform of the MK Deal."""

__version__ = "0.1.0"
