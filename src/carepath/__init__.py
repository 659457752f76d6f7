"""carepath: physical-therapy care pathways for people with multiple sclerosis."""

__version__ = "0.1.0"
