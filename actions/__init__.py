"""rasa_sdk custom actions, served by the app process on its own loopback port.

See web/action_server.py for the endpoint and actions/registry.py for the wiring.
"""
