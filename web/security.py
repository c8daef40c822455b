"""Headers every answer of the app carries (pages, API, static files, errors), and whether the
app is served over https.

`SecurityHeaders` is a plain ASGI middleware: it adds each header the route did not set itself
(the dashboard sets a stricter policy and `Cache-Control: no-store`, web/render.py; the API
documentation a policy that lets Swagger UI load, web/api_docs.py). Over https (the public URL
or the Telegram webhook URL starts with https://) it adds HSTS, and the session cookie is
`Secure` (web/auth.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from core.settings import Settings

# Pages: scripts and styles from the app only (the simulator keeps a small <style> block),
# never framed, forms posted to the app only.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HSTS = "max-age=31536000"  # one year; no includeSubDomains: the structure's other sites
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": PAGE_POLICY,
}


def served_over_https(settings: Settings) -> bool:
    """Whether browsers reach the app over https: its public URL or its Telegram webhook
    URL (the webhook needs https, so the app is behind a TLS proxy) says so."""
    urls = (settings.server.public_url, settings.telegram_webhook_url or "")
    return any(url.strip().lower().startswith("https://") for url in urls)


def framed_by_policy(headers: MutableHeaders) -> bool:
    """Whether the route's CSP lets some site frame it (the web chat's frame): then no
    X-Frame-Options DENY contradicts it."""
    policy = headers.get("content-security-policy", "")
    return "frame-ancestors" in policy and "frame-ancestors 'none'" not in policy


class SecurityHeaders:
    """Adds `HEADERS` (and HSTS over https) to every HTTP answer, unless already set."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = {**HEADERS, **({"Strict-Transport-Security": HSTS} if https else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name == "X-Frame-Options" and framed_by_policy(headers):
                        continue  # the route's own frame-ancestors says who may frame it
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
