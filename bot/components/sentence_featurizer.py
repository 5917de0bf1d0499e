"""Dense sentence features from the project's embedding model, for DIET.

The sparse count-vector features only know words and characters seen in training. A multilingual sentence
embedding (by default multilingual-e5-small, converted at install) also places unseen wordings, typos and
English questions near their meaning. Each message gets one sentence-level feature vector; the sparse
featurizers still provide the token sequence.

The embedding model is *not* copied into the Rasa model: the Rasa server loads it from ``model`` (or
``KEFU_EMBEDDING_MODEL``), which must be the same model it was trained with — ``bot.train`` includes the model's
fingerprint in the training hash for that reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge_base.embedder import Embedder
from knowledge_base.settings import get_settings

MODEL_KEY = "model"


def configured_model(config: dict[str, Any]) -> str:
    """The model named in the component's config, else the knowledge base's (``KEFU_EMBEDDING_MODEL``)."""
    return str(config.get(MODEL_KEY) or get_settings().embedding_model)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the sentence-transformers embedding of the message text as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``model``: a sentence-transformers folder or name (default: ``KEFU_EMBEDDING_MODEL``)."""
        return {**DenseFeaturizer.get_default_config(), MODEL_KEY: None}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Any model name or folder is accepted here; loading it reports a bad one."""

    def __init__(self, config: dict[str, Any], name: str, embedder: Embedder) -> None:
        super().__init__(name, config)
        self._embedder = embedder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """Loads the embedding model once for this component."""
        return cls(config, execution_context.node_name, Embedder(configured_model(config)))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example that has text."""
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes incoming messages (an empty text gets a zero vector)."""
        self._featurize(messages)
        return messages

    def _featurize(self, messages: list[Message]) -> None:
        texts = [str(message.get(TEXT) or "") for message in messages]
        with_text = [index for index, text in enumerate(texts) if text.strip()]
        vectors = np.zeros((len(messages), self._embedder.dimension), dtype=np.float32)
        if with_text:
            vectors[with_text] = self._embedder.encode([texts[index] for index in with_text])
        for message, vector in zip(messages, vectors, strict=True):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)  # type: ignore[arg-type]
