"""The counsellors' Telegram bridge, end to end without the engine.

The real app (uvicorn in a thread) polls the fake Bot API with python-telegram-bot; tickets
live in a real SQLite database. A forum topic per ticket, relay both ways, web/Telegram sync,
refusals of strangers and forged buttons, one topic per ticket with several sweeps at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.texts import AppTexts
from core.models import TicketStatus, Urgency
from handoff.bridge.handlers import (
    BUTTON_INVALID,
    CLAIM_FIRST,
    HELD_BY,
    NOT_REGISTERED,
    UNKNOWN_COMMAND,
)
from handoff.bridge.rendering import NOTE_SAVED
from handoff.bridge.service import TelegramBridge
from handoff.bridge.topics import ICON_CRISIS, ICON_NORMAL
from handoff.requests import TriageSummary
from handoff.tickets import TicketConflict
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support.bridge import GROUP, Env, running_bridge
from tests.support.waiting import eventually

TEXTS = AppTexts.load()


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


@pytest.fixture
def env(tmp_path: Path, fake_telegram: FakeTelegramServer) -> Iterator[Env]:
    with running_bridge(tmp_path, fake_telegram) as env:
        yield env


# --------------------------------------------------------------------------- topics
def test_a_new_ticket_opens_a_topic_with_the_summary_and_buttons(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    ticket = env.topic_of(ticket_id)

    [topic] = env.tg.topics(GROUP)
    assert topic["message_thread_id"] == ticket.topic_id
    assert topic["name"] == f"#{ticket_id} · logement · Lens-Liévin"
    assert topic["icon_color"] == ICON_NORMAL and not topic["closed"]
    assert str(chat_id) not in topic["name"] and pseudo not in topic["name"]

    summary = env.summary(ticket_id)
    assert summary["message_thread_id"] == ticket.topic_id and summary["is_topic_message"]
    text = summary["text"]
    for line in (
        "Besoins : logement, emploi",
        "Âge : 19",
        "Lieu : Lens",
        "Situation : sans emploi",
        "Déjà suivi : non",
        "Contact : ici sur Telegram",
        "Disponibilités : le matin",
        "Téléphone : 0612345678",
        "Questions à reprendre :\n• « c'est quoi la garantie jeunes ? »",
        "Urgence : non",
        "Extrait : « je dors chez un pote en ce moment »",
        "Statut : 🟢 Nouveau",
    ):
        assert line in text
    assert text.splitlines()[0] == f"📋 Ticket #{ticket_id} · écrit par un proche"
    assert str(chat_id) not in text and pseudo not in text
    assert buttons(summary) == [
        ("Je prends", f"tk:{ticket_id}:claim"),
        ("Clôturer", f"tk:{ticket_id}:close"),
    ]
    assert env.private_texts(chat_id) == []  # the young person is told nothing yet

    # A crisis ticket: red, marked, first in its name; routed by default (no place given).
    crisis_chat, crisis_pseudo = env.young_person()
    crisis_id = env.ticket(
        crisis_pseudo,
        TriageSummary(excerpt="je veux en finir"),
        urgency=Urgency.crisis,
        crisis_kind="suicide",
    )
    env.topic_of(crisis_id)
    crisis_topic = env.tg.topic(GROUP, env.get(crisis_id).topic_id)
    assert (
        crisis_topic["name"]
        == f"🔴 #{crisis_id} · urgence · Accueil (hors territoire ou lieu inconnu)"
    )
    assert crisis_topic["icon_color"] == ICON_CRISIS
    assert "Urgence : oui, idées suicidaires" in env.summary(crisis_id)["text"]
    assert len(env.tg.topics(GROUP)) == 2


# --------------------------------------------------------------------------- claim + relay
def test_claim_in_telegram_then_relay_both_ways(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    env.counsellor("Camille", 9001)
    env.counsellor("Dominique", 9002)

    # Writing before claiming is refused in the topic; nothing reaches the young person.
    env.write(ticket_id, 9001, "Salut !")
    env.wait_topic_text(ticket_id, CLAIM_FIRST)
    assert env.get(ticket_id).status is TicketStatus.new

    answer = env.press(ticket_id, 9001, f"tk:{ticket_id}:claim")
    assert not answer.get("show_alert")
    assert env.get(ticket_id).status is TicketStatus.claimed
    assert env.get(ticket_id).assignee_name == "Camille"
    claim_notice = TEXTS.handoff_claimed.format(name="Camille")
    eventually(lambda: claim_notice in env.private_texts(chat_id), what="the claim notice")
    env.wait_topic_text(ticket_id, "✋ Camille prend le ticket (sur Telegram).")
    eventually(
        lambda: [t for t, _ in buttons(env.summary(ticket_id))] == ["Libérer", "Clôturer"],
        what="the summary's buttons after the claim",
    )
    assert "Pris en charge par Camille" in env.summary(ticket_id)["text"]

    # The counsellor writes in the topic: the young person gets it, signed.
    env.write(ticket_id, 9001, "Salut, je regarde ta demande de logement.")
    signed = "Camille (conseiller·e) :\nSalut, je regarde ta demande de logement."
    eventually(lambda: signed in env.private_texts(chat_id), what="the relayed reply")
    assert env.get(ticket_id).status is TicketStatus.waiting_youth

    # A colleague who does not hold the ticket cannot write to the young person.
    env.write(ticket_id, 9002, "Coucou", first_name="Dominique")
    env.wait_topic_text(ticket_id, HELD_BY.format(name="Camille"))
    assert not any("Coucou" in t for t in env.private_texts(chat_id))

    # The young person answers in their private chat: it shows in the topic.
    env.tg.push_message(chat_id, "merci ! je suis dispo demain matin")
    env.wait_topic_text(ticket_id, "🧑 Jeune :\nmerci ! je suis dispo demain matin")
    assert env.get(ticket_id).status is TicketStatus.waiting_counsellor

    # A crisis during the hand-off: helplines at once, the topic turns red with an alert.
    env.tg.push_message(chat_id, "en fait j'ai envie de mourir")
    helplines = TEXTS.crisis_kinds("envie de mourir")[0].text
    eventually(lambda: helplines in env.private_texts(chat_id), what="the helplines")
    env.wait_topic_text(ticket_id, f"🤖 Bot :\n{helplines}")
    texts = env.wait_topic_text(ticket_id, "🧑 Jeune :\nen fait j'ai envie de mourir")
    assert any(t.startswith("🔴 URGENCE (idées suicidaires)") for t in texts)
    topic = eventually(
        lambda: (
            (t := env.tg.topic(GROUP, env.get(ticket_id).topic_id))["name"].startswith("🔴") and t
        ),
        what="the topic renamed",
    )
    assert topic["name"] == f"🔴 #{ticket_id} · logement · Lens-Liévin"
    assert env.get(ticket_id).urgency is Urgency.crisis


def test_strangers_are_refused_and_change_nothing(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    env.counsellor("Camille", 9001)
    before = env.summary(ticket_id)

    # Someone in the group who is not a registered counsellor.
    answer = env.press(ticket_id, 6666, f"tk:{ticket_id}:claim", first_name="Intrus")
    assert answer == {
        "callback_query_id": answer["callback_query_id"],
        "text": NOT_REGISTERED,
        "show_alert": True,
    }
    env.write(ticket_id, 6666, "je suis conseiller promis", first_name="Intrus")
    env.wait_topic_text(ticket_id, NOT_REGISTERED)

    # Forged or malformed data, even from a registered counsellor.
    other_chat, other_pseudo = env.young_person()
    other_id = env.ticket(other_pseudo)
    env.topic_of(other_id)
    for data in (
        f"tk:{ticket_id}:res:cej",  # a real action, but not a button of this message
        f"tk:{other_id}:claim",  # another ticket's button, pressed on this summary
        "tk:99999:claim",  # no such ticket
        f"tk:{ticket_id}:delete",
        "garbage",
    ):
        answer = env.press(ticket_id, 9001, data)
        assert (answer["text"], answer["show_alert"]) == (BUTTON_INVALID, True), data

    time.sleep(0.3)  # let anything wrongly triggered happen
    ticket = env.get(ticket_id)
    assert (ticket.status, ticket.assignee_id, ticket.outcome) == (TicketStatus.new, None, None)
    assert env.get(other_id).status is TicketStatus.new
    assert env.summary(ticket_id) == before
    assert env.private_texts(chat_id) == [] and env.private_texts(other_chat) == []
    assert [e.kind for e in env.services.tickets.events(ticket_id)] == ["created"]
    # Each press was answered once, by the bridge only (the private-chat handler never ran).
    answered = [c["callback_query_id"] for c in env.tg.calls("answerCallbackQuery")]
    assert len(answered) == len(set(answered)) == 6


# --------------------------------------------------------------------------- web <-> Telegram
def test_web_actions_show_in_the_topic(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    dominique = env.counsellor("Dominique", None)
    desk = env.services.desk

    env.in_app(desk.claim(ticket_id, dominique, via="web"))
    env.wait_topic_text(ticket_id, "✋ Dominique prend le ticket (sur le tableau de bord).")
    summary = eventually(
        lambda: "Pris en charge par Dominique" in (s := env.summary(ticket_id))["text"] and s,
        what="the summary after the web claim",
    )
    assert buttons(summary) == [
        ("Libérer", f"tk:{ticket_id}:release"),
        ("Clôturer", f"tk:{ticket_id}:close"),
    ]

    env.in_app(desk.reply(ticket_id, dominique, "Tu peux passer jeudi ?", via="web"))
    env.wait_topic_text(
        ticket_id, "💬 Dominique (sur le tableau de bord) :\nTu peux passer jeudi ?"
    )
    assert "Dominique (conseiller·e) :\nTu peux passer jeudi ?" in env.private_texts(chat_id)

    env.in_app(desk.add_note(ticket_id, dominique, "A déjà un dossier CAF.", via="api"))
    env.wait_topic_text(ticket_id, "📝 Note de Dominique (par l'API) :\nA déjà un dossier CAF.")

    # A reminder of the follow-up rules goes through the desk: the topic has it too.
    env.in_app(
        desk.reminder(ticket_id, "Relance prévue : le jeune n'a pas répondu depuis 3 jours.")
    )
    env.wait_topic_text(ticket_id, "⏰ Relance prévue : le jeune n'a pas répondu depuis 3 jours.")

    env.in_app(desk.release(ticket_id, dominique, via="web"))
    env.wait_topic_text(
        ticket_id, "↩️ Dominique remet le ticket dans la file (sur le tableau de bord)."
    )
    eventually(
        lambda: buttons(env.summary(ticket_id))[0] == ("Je prends", f"tk:{ticket_id}:claim"),
        what="the claim button back",
    )
    assert "Statut : 🟢 Nouveau" in env.summary(ticket_id)["text"]


def test_close_with_an_outcome(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    env.counsellor("Camille", 9001)
    env.counsellor("Dominique", 9002)
    env.press(ticket_id, 9001, f"tk:{ticket_id}:claim")
    eventually(
        lambda: buttons(env.summary(ticket_id))[0][0] == "Libérer", what="the claimed summary"
    )

    # A colleague cannot close or release it: the service's message, as an alert.
    answer = env.press(ticket_id, 9002, f"tk:{ticket_id}:close", first_name="Dominique")
    assert (answer["text"], answer["show_alert"]) == (
        "Ce ticket est suivi par un·e collègue.",
        True,
    )
    answer = env.press(ticket_id, 9002, f"tk:{ticket_id}:release", first_name="Dominique")
    assert (answer["text"], answer["show_alert"]) == (
        "Ce ticket est suivi par un·e collègue.",
        True,
    )
    assert env.get(ticket_id).assignee_name == "Camille"

    # Internal notes and commands stay in the group.
    sent = len(env.private_texts(chat_id))
    env.write(ticket_id, 9001, "/note rappeler lundi")
    env.wait_topic_text(ticket_id, NOTE_SAVED)
    assert [n.text for n in env.services.tickets.notes(ticket_id)] == ["rappeler lundi"]
    env.write(ticket_id, 9001, "/start")
    env.wait_topic_text(ticket_id, UNKNOWN_COMMAND)
    assert len(env.private_texts(chat_id)) == sent

    # "Clôturer" shows the outcomes; "Retour" brings the buttons back.
    env.press(ticket_id, 9001, f"tk:{ticket_id}:close")
    outcomes = dict(buttons(env.summary(ticket_id)))
    assert outcomes["Contrat d'Engagement Jeune"] == f"tk:{ticket_id}:res:cej"
    assert outcomes["↩️ Retour"] == f"tk:{ticket_id}:back"
    assert len(outcomes) == len(env.services.settings.handoff.outcomes) + 1
    assert all(len(data.encode()) <= 64 for data in outcomes.values())
    env.press(ticket_id, 9001, f"tk:{ticket_id}:back")
    assert [t for t, _ in buttons(env.summary(ticket_id))] == ["Libérer", "Clôturer"]
    env.press(ticket_id, 9001, f"tk:{ticket_id}:close")

    answer = env.press(ticket_id, 9001, f"tk:{ticket_id}:res:cej")
    assert not answer.get("show_alert")
    ticket = env.get(ticket_id)
    assert (ticket.status, ticket.outcome) == (TicketStatus.resolved, "cej")
    closed_notice = TEXTS.handoff_closed.format(name="Camille")
    eventually(lambda: closed_notice in env.private_texts(chat_id), what="the closing notice")
    env.wait_topic_text(
        ticket_id,
        "✅ Ticket clôturé par Camille : Contrat d'Engagement Jeune (sur Telegram). "
        "Le bot reprend la conversation.",
    )
    eventually(lambda: env.tg.topic(GROUP, ticket.topic_id)["closed"], what="the topic closed")
    summary = env.summary(ticket_id)
    assert buttons(summary) == []
    assert "Statut : ✅ Clôturé : Contrat d'Engagement Jeune" in summary["text"]

    # Writing in a closed ticket's topic reaches nobody.
    sent = len(env.private_texts(chat_id))
    env.write(ticket_id, 9001, "encore un mot")
    env.wait_topic_text(ticket_id, "Ce ticket est clôturé : ton message n'a pas été transmis.")
    assert len(env.private_texts(chat_id)) == sent


# --------------------------------------------------------------------------- sweeps
def test_concurrent_sweeps_open_one_topic_per_ticket(env: Env) -> None:
    env.bridge.sweep_interval = 3600  # the app's own sweep stays out of the way
    time.sleep(0.3)
    services = env.services
    others = [
        TelegramBridge(
            services.telegram.application,
            GROUP,
            services.desk,
            services.accounts,
            services.settings,
        )
        for _ in range(2)
    ]
    ids = [env.ticket(env.young_person()[1]) for _ in range(4)]

    async def sweep_at_once() -> list[int]:
        return list(await asyncio.gather(env.bridge.sweep(), *(b.sweep() for b in others)))

    assert sum(env.in_app(sweep_at_once())) == 4
    topics = env.tg.topics(GROUP)
    assert len(topics) == 4 and len(env.tg.calls("createForumTopic")) == 4
    assert sorted(env.get(i).topic_id for i in ids) == sorted(
        t["message_thread_id"] for t in topics
    )
    assert env.in_app(sweep_at_once()) == [0, 0, 0]


def test_telegram_failure_releases_the_reservation(env: Env) -> None:
    env.bridge.sweep_interval = 3600
    time.sleep(0.3)
    ticket_id = env.ticket(env.young_person()[1])

    env.tg.fail_next("createForumTopic", status=400, description="Bad Request: CHAT_ADMIN_REQUIRED")
    assert env.in_app(env.bridge.sweep()) == 0
    assert env.get(ticket_id).topic_id is None  # free again: retried later
    assert env.in_app(env.bridge.sweep()) == 0  # ... after a pause, not at once
    assert len(env.tg.calls("createForumTopic")) == 1

    # The topic opens but the summary cannot be posted: the half-made topic is deleted.
    env.bridge.topics.backoff.clear()
    env.tg.fail_next("sendMessage", status=400, description="Bad Request: not enough rights")
    assert env.in_app(env.bridge.sweep()) == 0
    assert env.tg.topics(GROUP) == [] and len(env.tg.calls("deleteForumTopic")) == 1
    assert env.get(ticket_id).topic_id is None

    env.bridge.topics.backoff.clear()
    assert env.in_app(env.bridge.sweep()) == 1
    assert len(env.tg.topics(GROUP)) == 1
    assert env.topic_of(ticket_id).topic_id == env.tg.topics(GROUP)[0]["message_thread_id"]


def test_private_chats_are_left_to_the_bot(env: Env) -> None:
    """A button pressed in a private chat never reaches the bridge, even with bridge data."""
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    env.counsellor("Camille", chat_id)  # even a counsellor, in their private chat
    message = env.in_app(env.bridge.bot.send_message(chat_id, "Choisis", reply_markup=None))
    query = env.tg.push_callback(chat_id, message.message_id, f"tk:{ticket_id}:claim")
    answer = eventually(
        lambda: next((a for a in env.tg.callback_answers if a["callback_query_id"] == query), None),
        what="the private chat's answer",
    )
    assert answer["text"] == TEXTS.button_expired  # bot/telegram.py's refusal, not the bridge's
    assert env.get(ticket_id).status is TicketStatus.new


def test_an_erased_ticket_loses_its_topic(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket = env.topic_of(env.ticket(pseudo))
    env.services.erasure.erase(pseudo)
    # Told from another thread and loop (as a scheduler job would): handed over safely.
    asyncio.run(env.bridge.on_ticket_event("erased", ticket, None, {}))
    eventually(lambda: env.tg.topics(GROUP) == [], what="the topic deleted")
    assert env.tg.calls("deleteForumTopic")[0]["message_thread_id"] == ticket.topic_id


def test_forgetting_a_person_through_the_desk_deletes_their_topics(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket = env.topic_of(env.ticket(pseudo))
    env.in_app(env.services.desk.forget(pseudo, env.services.erasure.erase))
    eventually(lambda: env.tg.topics(GROUP) == [], what="the topic deleted")
    assert env.tg.calls("deleteForumTopic")[0]["message_thread_id"] == ticket.topic_id
    assert env.services.tickets.tickets_of(pseudo) == []


def test_more_answers_on_an_open_ticket_refresh_its_summary(env: Env) -> None:
    _chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    ref = env.services.handoff.request(
        pseudo, TriageSummary(availability="plutôt le mercredi aprem"), source="triage"
    )
    assert (ref.ticket_id, ref.change) == (ticket_id, "updated")
    env.in_app(env.services.desk.ticket_changed(ticket_id, ref.change))
    eventually(
        lambda: "mercredi aprem" in env.summary(ticket_id)["text"], what="the summary refreshed"
    )


def test_a_reply_to_someone_who_just_blocked_the_bot_is_flagged(env: Env) -> None:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    dominique = env.counsellor("Dominique", None)
    desk = env.services.desk
    env.in_app(desk.claim(ticket_id, dominique, via="web"))
    env.tg.fail_next("sendMessage", status=403, chat_id=chat_id)
    env.in_app(desk.reply(ticket_id, dominique, "Tu es là ?", via="web"))
    notes = [n.text for n in env.services.tickets.notes(ticket_id)]
    assert any(n.startswith("Message non remis : le jeune a bloqué le bot.") for n in notes)
    with pytest.raises(TicketConflict, match="bloqué le bot"):
        env.in_app(desk.reply(ticket_id, dominique, "Allô ?", via="web"))
