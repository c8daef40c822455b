"""The web chat in a browser: a second web site (`HostSite`, on `localhost:<port>` while the
app listens on 127.0.0.1: another site) that embeds the widget, a browser context that fails
the test on any script error or CSP violation, and what a page keeps in its storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.json_http import JsonHandler, JsonServer

EXIT_URL = "https://neutral.example/meteo"
EXIT_PAGE = "<!doctype html><html lang='fr'><title>Météo</title><p id='neutral'>Météo du jour</p>"


class HostSite(JsonServer):
    """A site that embeds the chat: `pages[path] = (html, csp or None)`, served at
    http://localhost:<port>."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, str | None]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                page = site.pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                html, csp = page
                data = html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if csp:
                    self.send_header("Content-Security-Policy", csp)
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.server.server_port}"

    def add(self, path: str, body: str, csp: str | None = None) -> str:
        self.pages[path] = (
            f"<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Site de la structure</title></head><body>{body}</body></html>",
            csp,
        )
        return self.url + path


def strict_csp(app_url: str) -> str:
    """A host page's strict policy: the widget's script and frame, nothing inline."""
    return (
        f"default-src 'none'; script-src {app_url}; frame-src {app_url}; "
        "img-src 'self'; base-uri 'none'"
    )


@contextmanager
def chat_context(
    browser: Any,
    *,
    allow: Callable[[str], bool] = lambda text: False,
    **options: Any,
) -> Iterator[tuple[Any, list[str]]]:
    """A browser context whose pages (and frames) fail the test on a script error, a CSP
    violation or a console error that `allow(text)` does not expect. The neutral exit site
    is a local stub."""
    context = browser.new_context(locale="fr-FR", **options)
    context.set_default_timeout(15_000)
    context.route(
        "https://neutral.example/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=EXIT_PAGE),
    )
    errors: list[str] = []

    def watch(page: Any) -> None:
        page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda m: (
                errors.append(f"console: {m.text}")
                if (m.type == "error" or "Content Security Policy" in m.text) and not allow(m.text)
                else None
            ),
        )

    context.on("page", watch)
    try:
        yield context, errors
    finally:
        context.close()
    assert errors == [], errors


STORAGE_JS = """() => {
  const dump = (name) => { try { const area = window[name]; const out = {};
    for (let i = 0; i < area.length; i++) { const k = area.key(i); out[k] = area.getItem(k); }
    return out; } catch (e) { return "blocked"; } };
  return {local: dump("localStorage"), session: dump("sessionStorage"), cookies: document.cookie};
}"""
BLOCKED = "blocked"  # a frame of another site, where the browser blocks third-party storage


def storage_of(frame: Any) -> dict[str, Any]:
    """What a page (or frame) keeps: localStorage, sessionStorage (or BLOCKED) and its
    cookies."""
    return dict(frame.evaluate(STORAGE_JS))


class ChatEngine(JsonServer):
    """An engine stand-in on Rasa's REST channel: "réponse à <message>", with two buttons
    after /start, and the erasure question (the app's own buttons) after /oubli."""

    def __init__(self) -> None:
        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.read_json()
                if not self.path.startswith("/webhooks/rest/webhook"):
                    self.reply_json({"error": "no such channel"}, status=404)
                    return
                self.reply_json(
                    [{"recipient_id": body["sender"], **engine_answer(body["message"])}]
                )

            def do_GET(self) -> None:
                if self.path.startswith("/status"):
                    self.reply_json({"model_file": "chat.tar.gz"})
                else:
                    self.reply_json({"events": [], "latest_message": {}})

        super().__init__(Handler)


START_BUTTONS = [("Trouver un job", "/choose_job"), ("Autre chose", "/choose_other")]


def engine_answer(message: str) -> dict[str, Any]:
    if message == "/start":
        return {
            "text": "réponse à /start\nDeuxième ligne",
            "buttons": [{"title": t, "payload": p} for t, p in START_BUTTONS],
        }
    if message == "/delete_data":
        return {
            "text": "Tu veux vraiment tout effacer ?",
            "buttons": [
                {"title": "Oui, tout effacer", "payload": "/erase_confirmed"},
                {"title": "Non, garder", "payload": "/erase_cancelled"},
            ],
        }
    return {"text": f"réponse à {message}"}
