"""What the pipeline hands to a channel: text with optional buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Document:
    """A file sent after a reply's text (the /mesdonnees export: text and JSON)."""

    filename: str
    content: str  # UTF-8 text
    mime_type: str = "text/plain"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    documents: tuple[Document, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }
        if self.documents:
            data["documents"] = [
                {"filename": d.filename, "mime_type": d.mime_type, "content": d.content}
                for d in self.documents
            ]
        return data


def replies_from_engine(items: list[dict[str, Any]]) -> list[Reply]:
    """Turn Rasa REST channel output into replies; buttons stay attached to their text."""
    replies: list[Reply] = []
    for item in items:
        text = item.get("text")
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", "")))
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("title") and b.get("payload")
        )
        if isinstance(text, str) and text.strip():
            replies.append(Reply(text.strip(), buttons))
        elif buttons and replies:
            last = replies.pop()
            replies.append(Reply(last.text, last.buttons + buttons))
        elif item.get("image"):
            replies.append(Reply(str(item["image"])))
    return replies
