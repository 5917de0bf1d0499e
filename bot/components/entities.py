"""``ChineseEntityExtractor``: the Rasa NLU component for ``amount``, ``term``, ``date`` and ``card_last4``.

A thin Rasa wrapper around `bot.components.entity_rules`; the rules, their normalisation and their
limits are documented there. It runs after DIETClassifier (which has entity recognition off) and does
its own segmentation, so it needs no Rasa tokens. In config.yml::

    - name: bot.components.entities.ChineseEntityExtractor
      # optional: only these entity types (default: all four)
      dimensions: [amount, term]

Each entity it adds reads ``{"entity": "amount", "start": 1, "end": 4, "value": 5000, "text": "五千块",
"extractor": "ChineseEntityExtractor"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TEXT,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.components.entity_rules import (
    AMOUNT,
    CARD_LAST4,
    DATE,
    TERM,
    ExtractedEntity,
    extract_entities,
    warm_up,
)

ALL_DIMENSIONS = (AMOUNT, TERM, DATE, CARD_LAST4)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ChineseEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts and normalises money amounts, loan terms, dates and card tails from Chinese messages."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's default config: ``dimensions`` None means every entity type."""
        return {"dimensions": None}

    @staticmethod
    def supported_languages() -> list[str] | None:
        """Chinese only: the rules read Chinese numerals and date words."""
        return ["zh"]

    @staticmethod
    def required_packages() -> list[str]:
        """spaCy segments the text with jieba."""
        return ["spacy", "jieba"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseEntityExtractor:
        """Creates the component the way Rasa's graph does (storage and context are unused).

        Args:
            config: Overrides of `get_default_config`.
            model_storage: Unused: the component has nothing to persist.
            resource: Unused.
            execution_context: Unused.

        Returns:
            A ready extractor that counts dates from the real today.
        """
        return cls(config)

    def __init__(self, config: dict[str, Any], clock: Callable[[], date] = date.today) -> None:
        """Creates the extractor.

        Args:
            config: Overrides of `get_default_config`.
            clock: Returns today's date; called for every batch of messages, so a long-running server
                moves on at midnight and tests can fix the day.

        Raises:
            ValueError: If ``dimensions`` names an entity type this component does not extract.
        """
        self._config = {**self.get_default_config(), **config}
        dimensions = self._config["dimensions"] or ALL_DIMENSIONS
        unknown = sorted(set(dimensions) - set(ALL_DIMENSIONS))
        if unknown:
            raise ValueError(f"ChineseEntityExtractor: unknown dimensions {unknown}; known: {ALL_DIMENSIONS}")
        self.dimensions = frozenset(dimensions)
        self.clock = clock
        warm_up()

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the entities found in each message's text to its ``entities``.

        Args:
            messages: Parsed user messages; ones without text are left alone.

        Returns:
            The same messages.
        """
        today = self.clock()
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = [self._as_dict(e) for e in extract_entities(text, today) if e.entity in self.dimensions]
            message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
        return messages

    @staticmethod
    def _as_dict(entity: ExtractedEntity) -> dict[str, Any]:
        return {
            ENTITY_ATTRIBUTE_TYPE: entity.entity,
            ENTITY_ATTRIBUTE_START: entity.start,
            ENTITY_ATTRIBUTE_END: entity.end,
            ENTITY_ATTRIBUTE_VALUE: entity.value,
            ENTITY_ATTRIBUTE_TEXT: entity.text,
        }
