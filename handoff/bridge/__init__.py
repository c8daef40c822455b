"""The counsellors' Telegram bridge (one forum topic per ticket): service.py wires topics.py
(forum topics, posting), handlers.py (what counsellors do in the group) and rendering.py
(what the group shows)."""
