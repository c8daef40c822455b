"""Rasa custom components (informal-French normaliser, crisis guard), loaded by the engine.

Only the standard library and rasa may be imported here: this package runs in `.venv-rasa`.
`engine.normalise` and `engine.crisis` use the standard library only: the app (`.venv`) reads
the same crisis patterns when it answers without the engine (`bot/texts.py`).
The components themselves come with the NLU issue; `maraude up` already puts the project
root on the engine's PYTHONPATH so that `config.yml` can name them.
"""
