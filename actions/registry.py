"""Composes the actions with their dependencies into one rasa_sdk ActionExecutor."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from actions.crisis import (
    ActionCrisis,
    ActionCrisisFollowup,
    ActionSafetyAnswer,
    ActionSafetyCheck,
)
from actions.crisis_context import CrisisContext
from actions.fallback import ActionFallback
from actions.greet import ActionGreet
from actions.handoff import (
    ActionAcknowledge,
    ActionOfferCounsellor,
    ActionRequestHandoff,
    LinkContext,
)
from actions.minors import ActionMinorCallback, MinorCallback
from actions.nudges import ActionCheckinAnswer, ActionOptOut
from actions.places import ActionFaqNearestSite, ActionWhereToGo
from actions.privacy import ActionEraseData
from actions.triage import ActionCorrect, ActionExplainQuestion, ActionTriageSummary
from actions.triage_ask import ASK_ACTIONS
from actions.triage_form import ValidateTriageForm
from actions.welcome import ActionRecordAge, ActionRecordConsent, ActionWelcome
from core.clock import Clock, SystemClock
from core.people import PeopleService
from core.places import SiteDirectory
from core.settings import Settings
from handoff.desk import HandoffDesk
from handoff.link import LinkService
from handoff.requests import HandoffService
from handoff.sla.policy import SlaPolicy
from nudges.rules import FollowUpRules


def build_executor(
    settings: Settings,
    people: PeopleService,
    handoff: HandoffService,
    desk: HandoffDesk | None = None,
    policies: FollowUpRules | None = None,
    clock: Clock | None = None,
    link: LinkService | None = None,
    sites: SiteDirectory | None = None,
) -> ActionExecutor:
    """`policies` (nudges/rules.py) schedules and cancels the follow-up nudges; `clock`
    dates the safety question and says when the team is there (crisis answers); `link` tells
    the state of the young person's tickets (news instead of a second offer); `sites`: the
    structure's sites (default: those of the settings), for "c'est où la mission locale ?"."""
    executor = ActionExecutor()
    hours = SlaPolicy.from_settings(settings).hours
    clock = clock or SystemClock()
    crisis = CrisisContext(handoff, desk, hours, clock)
    ctx = LinkContext(
        handoff, link, settings.organisation.promised_delay, desk, crisis, hours, clock
    )
    ctx.minor_callback = MinorCallback(ctx).request
    questions = settings.triage.questions
    sites = sites or SiteDirectory(settings.structure.sites)
    executor.register_action(ActionWelcome(settings.organisation.name, policies))
    executor.register_action(
        ActionRecordAge(
            people,
            structure=settings.organisation.name,
            privacy_url=settings.privacy_url,
            retention_days=settings.organisation.retention_days,
        )
    )
    executor.register_action(ActionRecordConsent(people, MinorCallback(ctx)))
    executor.register_action(ActionMinorCallback(ctx))
    executor.register_action(ActionEraseData())
    executor.register_action(ActionOptOut(policies))
    executor.register_action(ActionCheckinAnswer(policies))
    for action in (
        ValidateTriageForm(policies, questions, link, people),
        *ASK_ACTIONS,
        ActionTriageSummary(people, questions),
        ActionCorrect(),
        ActionExplainQuestion(),
        ActionFallback(ctx),
        ActionFallback(ctx, name="action_out_of_scope"),
        ActionGreet(questions, ctx),
        ActionOfferCounsellor(ctx),
        ActionAcknowledge(ctx),
        ActionRequestHandoff(ctx),
        ActionCrisis(crisis),
        ActionCrisisFollowup(crisis),
        ActionSafetyCheck(crisis),
        ActionSafetyAnswer(crisis),
        ActionWhereToGo(sites),
        ActionFaqNearestSite(sites),
    ):
        executor.register_action(action)
    return executor
