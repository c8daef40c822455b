"""rasa_sdk custom actions, served by the app process at /webhook.

See web/actions_route.py for the endpoint and actions/registry.py for the wiring.
"""
