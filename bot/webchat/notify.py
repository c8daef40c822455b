"""The e-mail that tells a young person of the web chat that an answer waits for them.

A counsellor answered (a `human` outbox item, bot/webchat/store.py) someone who left an
address in the chat and has not read it after `webchat.notify_after`: one e-mail, with no
content at all (a neutral subject, "une réponse t'attend", the link back to the chat, how to
stop). At most one per `webchat.notify_every`, never during the nightly quiet hours of the
nudges, and again 15 minutes later when the mail server fails. The address and the texts are
never logged: the person's id only.

`WebChatNotices.run` is the job of maraude/jobs.py (every minute, when `webchat.email` is set
up); several workers may run it: each notice is claimed by one (`WebChatStore.due_notices`).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from bot.webchat.store import DueNotice, WebChatStore
from core.calendar import QuietHours
from core.clock import Clock
from core.settings_webchat import WebChatEmail

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=15)  # the mail server failed: try again then
SUBJECT = "Nouveau message"
BODY = """\
Salut,

Tu as une réponse qui t'attend dans la discussion.
Pour la lire : {link}

Tu ne veux plus recevoir ces e-mails ? Retire ton adresse dans la discussion, \
ou écris /oubli pour tout effacer.

(E-mail automatique, pas besoin d'y répondre.)
"""


@dataclass(frozen=True)
class SmtpMailer:
    """Sends one message through the SMTP server of `webchat.email` (blocking: run it in
    a thread)."""

    settings: WebChatEmail
    password: str | None = None

    def send(self, message: EmailMessage) -> None:
        config = self.settings
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, self.password or "")
            smtp.send_message(message)


def notice_message(sender: str, recipient: str, public_url: str, now: datetime) -> EmailMessage:
    """The e-mail itself: nothing of the conversation, the link back, how to stop."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=urlsplit(public_url).hostname or "maraude.local")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message.set_content(BODY.format(link=f"{public_url.rstrip('/')}/chat"))
    return message


class WebChatNotices:
    def __init__(
        self,
        store: WebChatStore,
        mailer: SmtpMailer,
        clock: Clock,
        *,
        quiet: QuietHours,
        every: timedelta,
        public_url: str,
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.clock = clock
        self.quiet = quiet  # nightly quiet hours only (a counsellor's Sunday answer may go)
        self.every = every
        self.public_url = public_url

    async def run(self) -> int:
        """Send the notices due now; how many went."""
        sent = 0
        for notice in await asyncio.to_thread(self.store.due_notices):
            sent += await self._one(notice)
        return sent

    async def _one(self, notice: DueNotice) -> int:
        now = self.clock.now()
        when = self._allowed_from(notice, now)
        if when > now:
            await asyncio.to_thread(self.store.postpone, notice.person_id, when)
            return 0
        message = notice_message(self.mailer.settings.sender, notice.email, self.public_url, now)
        try:
            await asyncio.to_thread(self.mailer.send, message)
        except (OSError, smtplib.SMTPException) as exc:
            # The error's text may hold the address: its kind only.
            retry = self.quiet.next_allowed(now + RETRY_AFTER)
            log.warning(
                "web chat notice to person %s not sent (%s): again at %s",
                notice.person_id,
                type(exc).__name__,
                retry.isoformat(),
            )
            await asyncio.to_thread(self.store.postpone, notice.person_id, retry)
            return 0
        await asyncio.to_thread(self.store.notified, notice.person_id)
        log.info("web chat notice sent to person %s", notice.person_id)
        return 1

    def _allowed_from(self, notice: DueNotice, now: datetime) -> datetime:
        """The first moment the notice may go: not before `every` after the last one, never
        in quiet hours."""
        earliest = now
        if notice.last_notified is not None:
            earliest = max(earliest, notice.last_notified + self.every)
        return self.quiet.next_allowed(earliest)
