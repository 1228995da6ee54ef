"""The installed version of feedbackloop."""

__all__ = ["__version__"]

__version__ = "0.1.0"
