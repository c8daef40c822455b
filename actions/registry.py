"""Composes the actions with their dependencies into one rasa_sdk ActionExecutor."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from actions.crisis import (
    ActionCrisis,
    ActionCrisisFollowup,
    ActionSafetyAnswer,
    ActionSafetyCheck,
    CrisisContext,
)
from actions.nudges import ActionCheckinAnswer, ActionOptOut
from actions.privacy import ActionEraseData
from actions.triage import (
    ActionCorrect,
    ActionExplainQuestion,
    ActionFallback,
    ActionGreet,
    ActionRequestHandoff,
    ActionTriageSummary,
    ValidateTriageForm,
)
from actions.welcome import ActionRecordConsent, ActionWelcome
from handoff.clock import Clock, SystemClock
from handoff.desk import HandoffDesk
from handoff.policies import Policies
from handoff.services.handoff import HandoffService
from handoff.services.people import PeopleService
from handoff.services.sla import SlaPolicy
from maraude.settings import Settings


def build_executor(
    settings: Settings,
    people: PeopleService,
    handoff: HandoffService,
    desk: HandoffDesk | None = None,
    policies: Policies | None = None,
    clock: Clock | None = None,
) -> ActionExecutor:
    """`policies` (handoff/policies.py) schedules and cancels the follow-up nudges; `clock`
    dates the safety question and says when the team is there (crisis answers)."""
    executor = ActionExecutor()
    crisis = CrisisContext(
        handoff, desk, SlaPolicy.from_settings(settings).hours, clock or SystemClock()
    )
    executor.register_action(
        ActionWelcome(
            structure=settings.organisation.name,
            privacy_url=settings.privacy_url,
            retention_days=settings.organisation.retention_days,
            policies=policies,
        )
    )
    executor.register_action(ActionRecordConsent(people))
    executor.register_action(ActionEraseData())
    executor.register_action(ActionOptOut(policies))
    executor.register_action(ActionCheckinAnswer(policies))
    for action in (
        ValidateTriageForm(policies, settings.triage.questions),
        ActionTriageSummary(people),
        ActionCorrect(),
        ActionExplainQuestion(),
        ActionFallback(),
        ActionGreet(settings.triage.questions),
        ActionRequestHandoff(handoff, settings.organisation.promised_delay, desk, crisis),
        ActionCrisis(crisis),
        ActionCrisisFollowup(crisis),
        ActionSafetyCheck(crisis),
        ActionSafetyAnswer(crisis),
    ):
        executor.register_action(action)
    return executor
