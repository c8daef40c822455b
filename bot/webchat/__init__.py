"""The web chat channel: young people on the structure's own site (the widget) or on `/chat`
(bot/webchat/sessions.py), what reaches them outside a reply (store.py, the outbox; hub.py,
the live streams) and the e-mail that tells them an answer waits (notify.py). The HTTP side
is web/webchat.py."""

from bot.webchat.hub import SharedStreamHub, StreamHub, stream_hub
from bot.webchat.sessions import WebChatSessions
from bot.webchat.store import WebChatStore

__all__ = ["SharedStreamHub", "StreamHub", "WebChatSessions", "WebChatStore", "stream_hub"]
