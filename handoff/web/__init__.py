"""Web side of the app process: pages, the web simulator and the rasa_sdk action webhook."""
