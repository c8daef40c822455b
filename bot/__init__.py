"""Channels towards young people: Telegram, the web simulator and the terminal share one pipeline."""
