"""A counsellor answers a young person of the web chat exactly as one on Telegram: with the real
services (maraude/services.py wires the desk's and the appointment desk's senders for
Channel.web to WebChatSessions), the claim notice, the signed reply and an appointment
proposal with its buttons land in the person's web outbox (`webchat_store.since`), in order,
as counsellors' messages; a Telegram young person's outbox stays empty."""

from __future__ import annotations

from datetime import UTC, datetime

from core.models import Channel
from tests.handoff.appointments.support import paris, visit
from tests.support.world import World

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Paris


async def test_a_counsellor_reaches_a_web_young_person(world: World) -> None:
    person_id, pseudo = world.person("page-token-key", channel=Channel.web, consent=True)
    other_id, other_pseudo = world.person("4242", consent=True)  # on Telegram
    sam = world.counsellor("Sam")
    ticket_id = await world.ticket(pseudo)
    assert world.tickets.get(ticket_id).channel == Channel.web
    store = world.services.webchat_store
    assert store.since(person_id, 0) == []  # nothing before a counsellor acts

    await world.desk.claim(ticket_id, sam, "web")
    delivery = await world.desk.reply(ticket_id, sam, "Salut, je regarde ta demande.", "web")
    assert delivery.channel == Channel.web
    view = await world.services.appointment_desk.propose(
        ticket_id, sam, visit(paris(2026, 3, 4, 14, 30)), "web"
    )

    items = store.since(person_id, 0)
    texts = [item.reply.text for item in items]
    assert len(items) == 3, texts
    assert texts[0].startswith("Sam") and "a pris ta demande" in texts[0]  # the claim notice
    assert texts[1] == "Sam (conseiller·e) :\nSalut, je regarde ta demande."  # signed
    proposal = items[2].reply
    assert "mercredi 4 mars à 14h30" in proposal.text, proposal.text
    payloads = [button.payload for button in proposal.buttons]
    assert [p.split("{")[0] for p in payloads] == ["/rdv_ok", "/rdv_change", "/rdv_unsure"]
    assert all(p.endswith(f'{{"rdv":"{view.id}"}}') for p in payloads), payloads
    assert {item.origin for item in items} == {"counsellor"}
    assert [item.id for item in items] == sorted(item.id for item in items)
    # The ticket's transcript has the reply, as for a Telegram ticket.
    transcript = world.tickets.transcript(ticket_id)
    assert any(m.text == "Salut, je regarde ta demande." for m in transcript)

    # "Ça me va" pressed on the page: the confirmation comes with the .ics as a document
    # (the page offers it as a download), in the answer to the press, not in the outbox.
    replies = await world.services.pipeline.handle_button(
        Channel.web, "page-token-key", payloads[0], proposal.buttons[0].title
    )
    [document] = [d for reply in replies for d in reply.documents]
    assert document.filename.endswith(".ics") and document.mime_type == "text/calendar"
    assert "BEGIN:VEVENT" in document.content and "DTSTART;TZID=Europe/Paris" in document.content
    assert len(store.since(person_id, 0)) == len(items)

    # A Telegram young person's ticket goes to Telegram's sender, never to a web outbox.
    other_ticket = await world.ticket(other_pseudo)
    await world.desk.claim(other_ticket, sam, "web")
    await world.desk.reply(other_ticket, sam, "Et toi ?", "web")
    assert world.tickets.get(other_ticket).channel == Channel.telegram
    assert store.since(other_id, 0) == []
    assert len(store.since(person_id, 0)) == len(items)
