"""wirewatch: news-wire monitoring for technology-policy events."""

__version__ = "0.1.0"
