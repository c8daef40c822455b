"""'C'est où la mission locale ?': the structure's site nearest to the young person, and the same
site added after an FAQ answer about the Mission Locale (core/places.py measures distances from
the communes shipped in core/data; nothing here touches the network).

Where the young person is, first found first: the latest message (a postcode, a commune, or the
town they give when asked), the triage's `location` slot, then what they wrote earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import known_from_history, latest_answer, user_texts
from actions.triage_facts import postcode_in, town_in
from core.places import NearestSite, SiteDirectory, map_link, postal_address
from core.settings_places import Site
from core.vocabulary import SKIPPED

WHERE_ACTION = "action_where_to_go"
# Farther than this (as the crow flies), the site is not "near": said so, with where to look.
FAR_KM = 40.0
# Up to this many sites, they are all listed when the place is unknown; more: the bot asks.
LIST_AT_MOST = 3
# FAQ answers about a structure the sites are (faq/<key>): followed by the nearest site.
STRUCTURE_FAQS = frozenset({"mission_locale", "cej", "garantie_jeunes", "faj"})


@dataclass(frozen=True)
class Asked:
    """Where the young person is, as far as the conversation tells."""

    place: str | None  # what to measure from: a postcode, a commune, a département
    given_now: str | None = None  # a town or postcode in the latest message, known or not


def site_details(site: Site) -> str:
    """The site's hours, phone and access (those it has) and its map link, one per line."""
    lines = [
        f"Horaires : {site.hours}" if site.hours else "",
        f"Tél : {site.phone}" if site.phone else "",
        f"Accès : {site.accessibility}" if site.accessibility else "",
        f"Le plan : {map_link(site)}",
    ]
    return "\n".join(line for line in lines if line)


def where_is(tracker: Tracker, sites: SiteDirectory) -> Asked:
    answer = latest_answer(tracker)
    text = "" if answer.is_payload else answer.text
    gazetteer = sites.gazetteer
    now = (
        postcode_in(text, answer.entity("postcode"))
        or gazetteer.place_in(text)
        or answer.entity("commune")
    )
    if now is None and answer.intent == "inform" and tracker.get_slot("where_asked"):
        now = town_in(text)  # the town they were asked for, perhaps misspelt
    if now is not None:
        return Asked(now, now)
    location = tracker.get_slot("location")
    if location and location != SKIPPED and gazetteer.locate(str(location)) is not None:
        return Asked(str(location))
    earlier = known_from_history(tracker, "postcode") or known_from_history(tracker, "commune")
    if earlier:
        return Asked(earlier)
    for said in user_texts(tracker)[1:]:
        if place := gazetteer.place_in(said):
            return Asked(place)
    return Asked(None)


def faq_key(latest: dict[str, Any]) -> str | None:
    """The FAQ answered (`cej`, `mission_locale`…) from the ResponseSelector's choice, or from
    a full retrieval intent name (`faq/cej`, as tests and stories write it)."""
    selected = ((latest.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    intent = latest.get("intent") or {}
    name = (
        selected.get("intent_response_key")
        or intent.get("full_retrieval_intent_name")
        or intent.get("name")
        or ""
    )
    return name.split("/", 1)[1] if str(name).startswith("faq/") else None


class ActionWhereToGo(Action):
    """The nearest site with its address, hours, phone, access and map; or the question
    "tu es dans quelle ville ?" (the sites themselves when there are three or fewer)."""

    def __init__(self, sites: SiteDirectory) -> None:
        self.sites = sites

    def name(self) -> str:
        return WHERE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        all_sites = self.sites.all()
        if not all_sites:
            dispatcher.utter_message(response="utter_where_no_sites")
            return [SlotSet("where_asked", False)]
        asked = where_is(tracker, self.sites)
        if (
            tracker.latest_message.get("intent", {}).get("name") == "inform"
            and asked.given_now is None
            and not tracker.get_slot("where_asked")
        ):
            # A detail after the answer ("jai 19 ans"), not a place: handled as any detail.
            return [SlotSet("where_asked", False), FollowupAction("action_fallback")]
        nearest = self.sites.nearest(asked.place)
        question = False  # the town asked: the next "inform" answers it
        if nearest is not None:
            say_nearest(dispatcher, nearest)
        elif asked.given_now and postcode_in(asked.given_now):
            dispatcher.utter_message(response="utter_where_elsewhere", place=asked.given_now)
        elif asked.given_now:
            dispatcher.utter_message(response="utter_where_unknown_town", place=asked.given_now)
            question = True
        elif tracker.active_loop_name == "triage_form":
            dispatcher.utter_message(response="utter_where_later")  # the triage asks it
        elif len(all_sites) <= LIST_AT_MOST:
            listed = "\n".join(f"• {s.name}, {s.address}, {s.commune}" for s in all_sites)
            dispatcher.utter_message(response="utter_where_sites", sites=listed)
            question = True
        else:
            dispatcher.utter_message(response="utter_where_ask_town")
            question = True
        return [SlotSet("where_asked", question)]


def say_nearest(dispatcher: CollectingDispatcher, nearest: NearestSite) -> None:
    site = nearest.site
    address = postal_address(site)
    if nearest.distance_km > FAR_KM:
        dispatcher.utter_message(
            response="utter_where_far",
            km=str(round(nearest.distance_km)),
            site=site.name,
            address=address,
            place=nearest.place.label,
        )
        return
    if nearest.precise:
        dispatcher.utter_message(
            response="utter_where_nearest",
            site=site.name,
            address=address,
            details=site_details(site),
        )
        return
    dispatcher.utter_message(
        response="utter_where_in_departement",
        site=site.name,
        address=address,
        details=site_details(site),
        departement=nearest.place.label,
    )


class ActionFaqNearestSite(Action):
    """After an FAQ answer about the Mission Locale or the CEJ: "La plus proche de toi : …"
    when the young person's place is known and a site is near; silent otherwise."""

    def __init__(self, sites: SiteDirectory) -> None:
        self.sites = sites

    def name(self) -> str:
        return "action_faq_nearest_site"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if faq_key(tracker.latest_message) not in STRUCTURE_FAQS:
            return []
        nearest = self.sites.nearest(where_is(tracker, self.sites).place)
        if nearest is None or not nearest.precise or nearest.distance_km > FAR_KM:
            return []
        site = nearest.site
        dispatcher.utter_message(
            response="utter_faq_nearest",
            site=site.name,
            address=postal_address(site),
        )
        return []
