"""Rasa custom components (informal-French normaliser, intent blend, crisis guard).

Only the standard library and what the Rasa env has (rasa, numpy, scipy, scikit-learn) may be
imported by the components: they run in `.venv-rasa`.
`engine.normalise`, `engine.crisis` and `engine.files` use the standard library only: the app
(`.venv`) reads the same crisis patterns when it answers without the engine (`bot/texts.py`).
The components themselves come with the NLU issue; `maraude up` already puts the project
root on the engine's PYTHONPATH so that `config.yml` can name them.
"""
