"""carepath: physical-therapy care pathways for people with multiple sclerosis."""

__version__ = "0.2.0"
