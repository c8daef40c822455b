"""Unit tests of the Rasa custom components (engine/), run with unittest in .venv-rasa."""
