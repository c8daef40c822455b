"""What the component tests share: a real local model storage and execution context."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage


class ComponentTestCase(unittest.TestCase):
    """`self.storage` (a LocalModelStorage in a temp dir) and `self.context`, per test."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.storage = LocalModelStorage(Path(self._tmp.name))
        self.context = ExecutionContext(GraphSchema({}), "test")

    def tearDown(self) -> None:
        self._tmp.cleanup()
