"""Égide: a sovereign generative-AI platform for defence ministries and public institutions."""

__version__ = "0.1.0"
