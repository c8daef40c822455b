"""Composes the actions with their dependencies into one rasa_sdk ActionExecutor."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

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
from handoff.desk import HandoffDesk
from handoff.policies import Policies
from handoff.services.handoff import HandoffService
from handoff.services.people import PeopleService
from maraude.settings import Settings


def build_executor(
    settings: Settings,
    people: PeopleService,
    handoff: HandoffService,
    desk: HandoffDesk | None = None,
    policies: Policies | None = None,
) -> ActionExecutor:
    """`policies` (handoff/policies.py) schedules and cancels the follow-up nudges."""
    executor = ActionExecutor()
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
        ActionRequestHandoff(handoff, settings.organisation.promised_delay, desk),
    ):
        executor.register_action(action)
    return executor
