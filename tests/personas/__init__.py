"""Persona conversations played end to end against the real engine (issue 17)."""
