"""rasa_sdk custom actions, served by the app process at /webhook (see handoff/web/actions_route.py)."""
