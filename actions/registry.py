"""Composes the actions with their dependencies into one rasa_sdk ActionExecutor."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from actions.privacy import ActionEraseData
from actions.welcome import ActionRecordConsent, ActionWelcome
from handoff.services.people import PeopleService
from maraude.settings import Settings


def build_executor(settings: Settings, people: PeopleService) -> ActionExecutor:
    executor = ActionExecutor()
    executor.register_action(
        ActionWelcome(
            structure=settings.organisation.name,
            privacy_url=settings.privacy_url,
            retention_days=settings.organisation.retention_days,
        )
    )
    executor.register_action(ActionRecordConsent(people))
    executor.register_action(ActionEraseData())
    return executor
