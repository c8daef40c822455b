"""Maraude: digital outreach assistant for young people, with hand-off to human counsellors."""

__version__ = "0.1.0"
