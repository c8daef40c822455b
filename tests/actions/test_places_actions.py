"""'C'est où la mission locale ?' (actions/places.py) with a real rasa_sdk Tracker and
CollectingDispatcher, the sites of the repository's maraude.yml."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.places import ActionFaqNearestSite, ActionWhereToGo
from actions.registry import build_executor
from core.places import SiteDirectory
from core.settings_places import Site
from tests.support import ROOT, load_settings


@pytest.fixture(scope="module")
def sites() -> SiteDirectory:
    return SiteDirectory(load_settings(ROOT / "maraude.yml").structure.sites)


def tracker(
    text: str,
    intent: str = "ask_where",
    *,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    latest: dict[str, Any] | None = None,
) -> Tracker:
    message: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    message["entities"] = entities or []
    message.update(latest or {})
    return Tracker(
        sender_id="y-places",
        slots={"location": None, "requested_slot": None, **(slots or {})},
        latest_message=message,
        events=[*(events or []), {"event": "user", "text": text, "parse_data": message}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def where(
    sites: SiteDirectory, t: Tracker, *, asks: bool | None = None
) -> list[dict[str, Any]]:
    """The messages of the where-action; `asks`: whether it waits for the town (checked when
    given: the slot `where_asked` it sets)."""
    dispatcher = CollectingDispatcher()
    events = await ActionWhereToGo(sites).run(dispatcher, t, {})
    [slot] = events
    assert slot["name"] == "where_asked"
    if asks is not None:
        assert slot["value"] is asks
    return dispatcher.messages


async def test_the_town_in_the_message_gives_the_nearest_site(sites: SiteDirectory) -> None:
    [message] = await where(sites, tracker("elle est ou la mission locale de lievin"), asks=False)
    assert message["response"] == "utter_where_nearest"
    assert message["site"] == "Mission Locale de Lens (démo)"
    assert message["address"] == "12 rue de l'Exemple, 62300 Lens"
    details = message["details"].split("\n")
    assert details[0] == "Horaires : lun-ven 9h-12h30, 13h30-17h30"
    assert details[1] == "Tél : 03 21 00 00 01"
    assert details[2].startswith("Accès : accessible en fauteuil")
    assert details[3].startswith("Le plan : https://www.openstreetmap.org/search?query=")


async def test_the_triage_location_is_used(sites: SiteDirectory) -> None:
    [message] = await where(sites, tracker("c ou la ml", slots={"location": "Audincourt"}))
    assert message["site"] == "Mission Locale du Pays de Montbéliard (démo)"
    # a site without accessibility or map link: the lines it has, and a map search
    [message] = await where(sites, tracker("l'adresse svp", slots={"location": "Hénin-Beaumont"}))
    assert message["site"] == "Antenne d'Hénin-Beaumont (démo)"
    assert "Accès" not in message["details"] and "Le plan : https://" in message["details"]


@pytest.mark.parametrize(
    ("entities", "site"),
    [
        ([{"entity": "postcode", "value": "59100"}], "Antenne de Roubaix (démo)"),
        ([{"entity": "commune", "value": "Tourcoing"}], "Antenne de Roubaix (démo)"),
    ],
)
async def test_an_entity_of_the_message(
    sites: SiteDirectory, entities: list[dict[str, Any]], site: str
) -> None:
    [message] = await where(sites, tracker("cest ou la ml la plus proche", entities=entities))
    assert message["site"] == site


async def test_a_place_said_earlier_in_the_conversation(sites: SiteDirectory) -> None:
    earlier = [{"event": "user", "text": "jsuis sur roubaix", "parse_data": {"entities": []}}]
    [message] = await where(sites, tracker("c ou la ml", events=earlier))
    assert message["site"] == "Antenne de Roubaix (démo)"


async def test_unknown_place_asks_the_town(sites: SiteDirectory) -> None:
    [message] = await where(sites, tracker("c ou la mission locale"), asks=True)
    assert message["response"] == "utter_where_ask_town"
    # a skipped triage answer is no place either
    [message] = await where(sites, tracker("c ou la ml", slots={"location": "passé"}))
    assert message["response"] == "utter_where_ask_town"


async def test_the_town_given_after_the_question(sites: SiteDirectory) -> None:
    asked = {"where_asked": True}
    [message] = await where(sites, tracker("tourcoin", "inform", slots=asked), asks=False)
    assert message["response"] == "utter_where_nearest"
    assert message["site"] == "Antenne de Roubaix (démo)"  # typo forgiven, after the question
    [message] = await where(sites, tracker("Trifouilly", "inform", slots=asked), asks=True)
    assert message == {**message, "response": "utter_where_unknown_town", "place": "Trifouilly"}
    # after an answer: another town is answered too ("et a lille ?")
    [message] = await where(sites, tracker("et a lille ?", "inform"), asks=False)
    assert message["site"] == "Mission Locale de Lille (démo)"


async def test_a_detail_after_the_answer_goes_to_the_fallback(sites: SiteDirectory) -> None:
    """Not asked, no place in it ("jai 19 ans"): a word is not taken for a town, and the
    detail is handled as any other (action_fallback), not answered with the site again."""
    dispatcher = CollectingDispatcher()
    t = tracker("jai 19 ans", "inform", slots={"location": "Lens", "where_asked": False})
    events = await ActionWhereToGo(sites).run(dispatcher, t, {})
    assert dispatcher.messages == []
    assert events[0]["name"] == "where_asked" and events[0]["value"] is False
    assert events[1] == {"event": "followup", "timestamp": None, "name": "action_fallback"}


async def test_far_or_elsewhere_is_said_honestly(sites: SiteDirectory) -> None:
    [message] = await where(sites, tracker("ya une ml a calais ?"))
    assert message["response"] == "utter_where_far"
    assert message["site"] == "Mission Locale de Lens (démo)" and int(message["km"]) > 40
    assert message["place"] == "Calais"
    [message] = await where(sites, tracker("c ou la ml du 75011"))
    assert message == {**message, "response": "utter_where_elsewhere", "place": "75011"}


async def test_a_departement_only(sites: SiteDirectory) -> None:
    [message] = await where(sites, tracker("c ou la ml", slots={"location": "62"}))
    assert message["response"] == "utter_where_in_departement"
    assert message["departement"] == "62" and message["site"] == "Mission Locale de Lens (démo)"


async def test_during_the_triage_the_triage_asks_the_town(sites: SiteDirectory) -> None:
    [message] = await where(sites, tracker("c ou la ml", active_loop="triage_form"), asks=False)
    assert message["response"] == "utter_where_later"


async def test_three_sites_or_fewer_are_listed() -> None:
    few = SiteDirectory(
        [
            Site(id="sa", name="ML A", address="1 rue A", postcode="62300", commune="Lens"),
            Site(id="sb", name="ML B", address="2 rue B", postcode="59000", commune="Lille"),
        ]
    )
    [message] = await where(few, tracker("c ou la ml"))
    assert message["response"] == "utter_where_sites"
    assert message["sites"] == "• ML A, 1 rue A, Lens\n• ML B, 2 rue B, Lille"
    [message] = await where(SiteDirectory([]), tracker("c ou la ml"))
    assert message["response"] == "utter_where_no_sites"


def faq_message(key: str) -> dict[str, Any]:
    return {
        "intent": {"name": "faq", "confidence": 0.9},
        "response_selector": {
            "faq": {"response": {"intent_response_key": f"faq/{key}", "confidence": 0.9}}
        },
    }


async def faq(sites: SiteDirectory, t: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    assert await ActionFaqNearestSite(sites).run(dispatcher, t, {}) == []
    return dispatcher.messages


@pytest.mark.parametrize("key", ["mission_locale", "cej"])
async def test_an_faq_about_the_structure_ends_with_the_nearest_site(
    sites: SiteDirectory, key: str
) -> None:
    t = tracker("cest quoi", "faq", slots={"location": "Liévin"}, latest=faq_message(key))
    [message] = await faq(sites, t)
    assert message["response"] == "utter_faq_nearest"
    assert message["site"] == "Mission Locale de Lens (démo)"
    assert message["address"] == "12 rue de l'Exemple, 62300 Lens"


async def test_the_faq_addition_is_silent_otherwise(sites: SiteDirectory) -> None:
    # place unknown
    assert await faq(sites, tracker("cest quoi le cej", "faq", latest=faq_message("cej"))) == []
    # an FAQ about something else
    t = tracker("cest quoi le rsa", "faq", slots={"location": "Lens"}, latest=faq_message("rsa"))
    assert await faq(sites, t) == []
    # only the département, or far away: not "la plus proche de toi"
    for place in ("62", "Calais"):
        t = tracker("cej ?", "faq", slots={"location": place}, latest=faq_message("cej"))
        assert await faq(sites, t) == []


async def test_the_full_retrieval_intent_name_is_read_too(sites: SiteDirectory) -> None:
    t = tracker("la ml cest quoi", "faq/mission_locale", slots={"location": "59000"})
    [message] = await faq(sites, t)
    assert message["site"] == "Mission Locale de Lille (démo)"
    # as the engine sends it: {"name": "faq", "full_retrieval_intent_name": "faq/cej"}
    engine = {"intent": {"name": "faq", "full_retrieval_intent_name": "faq/cej"}}
    t = tracker("cej ?", "faq", slots={"location": "Roubaix"}, latest=engine)
    [message] = await faq(sites, t)
    assert message["site"] == "Antenne de Roubaix (démo)"


def test_the_actions_are_registered(tmp_path: Any) -> None:
    from tests.support import make_settings

    settings = make_settings(tmp_path)
    executor = build_executor(settings, people=None, handoff=None)  # type: ignore[arg-type]
    assert {"action_where_to_go", "action_faq_nearest_site"} <= set(executor.actions)
