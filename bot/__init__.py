"""Channels towards young people.

Telegram, the web simulator and the terminal all go through one pipeline (bot/pipeline.py).
"""
