"""Jieba tokenizer that first rewrites the misspellings customers really write.

Customers type 微粒货, 微利贷 or 微粒代 for 微粒贷. Jieba alone splits those into unrelated pieces, so the
featurizers never see the product name. This tokenizer reads a two-column list of ``misspelling<TAB>canonical``
pairs and tokenizes a *normalised copy* of the text: the message text itself is never changed, and because every
replacement has the same length as what it replaces, token offsets still point into the original text.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

import jieba
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot.components.exceptions import DictionaryError

MISSPELLINGS_KEY = "misspellings_path"

logger = logging.getLogger(__name__)


def load_misspellings(path: Path) -> dict[str, str]:
    """Reads ``misspelling<TAB>canonical`` lines; ``#`` starts a comment.

    Raises:
        DictionaryError: a line is malformed, a pair changes the text's length, or a misspelling repeats.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DictionaryError(f"{path}: cannot read the misspellings file ({error})") from error
    pairs: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        fields = content.split("\t")
        if len(fields) != 2 or not all(field.strip() for field in fields):
            raise DictionaryError(f"{path}:{number}: expected 'misspelling<TAB>canonical', got {line!r}")
        wrong, right = (field.strip() for field in fields)
        if len(wrong) != len(right):
            raise DictionaryError(f"{path}:{number}: {wrong!r} and {right!r} differ in length; offsets would break")
        if wrong in pairs:
            raise DictionaryError(f"{path}:{number}: {wrong!r} is listed twice")
        pairs[wrong] = right
    return pairs


class MisspellingRewriter:
    """Replaces every listed misspelling, longest first, in one pass."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = pairs
        ordered = sorted(pairs, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def rewrite(self, text: str) -> str:
        """Returns ``text`` with misspellings replaced; the result has the same length."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._pairs[match.group(0)], text)


MISSPELLINGS_FILE = "misspellings.tsv"  # beside the jieba dictionaries in the model; not a jieba dictionary
DICTIONARY_PATTERN = "*.txt"  # jieba user dictionaries; everything else in the folder is ignored


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class BankingJiebaTokenizer(JiebaTokenizer):
    """:class:`JiebaTokenizer` with the banking dictionary and misspelling rewriting.

    Training copies the jieba dictionaries and the misspellings into the model, so a trained model tokenizes
    the same way wherever it is loaded.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Adds ``misspellings_path`` to the jieba tokenizer's options."""
        return {**JiebaTokenizer.get_default_config(), MISSPELLINGS_KEY: None}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        misspellings: dict[str, str] | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        if misspellings is None:
            path = config.get(MISSPELLINGS_KEY)
            misspellings = load_misspellings(Path(path)) if path else {}
        self._misspellings = misspellings
        self._rewriter = MisspellingRewriter(misspellings)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BankingJiebaTokenizer:
        """Loads the jieba user dictionaries (if any) and the misspellings list from the project."""
        dictionary_path = config.get("dictionary_path")
        if dictionary_path is not None:
            cls._load_custom_dictionary(dictionary_path)
        return cls(config, model_storage, resource)

    @staticmethod
    def _load_custom_dictionary(path: str) -> None:
        """Loads every ``*.txt`` jieba user dictionary in ``path``."""
        for dictionary in sorted(Path(path).glob(DICTIONARY_PATTERN)):
            jieba.load_userdict(str(dictionary))

    def persist(self) -> None:
        """Copies the jieba dictionaries and the misspellings into the model."""
        dictionary_path = self._config.get("dictionary_path")
        with self._model_storage.write_to(self._resource) as directory:
            if dictionary_path is not None:
                for dictionary in Path(dictionary_path).glob(DICTIONARY_PATTERN):
                    shutil.copy2(dictionary, directory / dictionary.name)
            lines = [f"{wrong}\t{right}" for wrong, right in self._misspellings.items()]
            (directory / MISSPELLINGS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> BankingJiebaTokenizer:
        """Restores the dictionaries and misspellings saved in the model."""
        misspellings: dict[str, str] = {}
        try:
            with model_storage.read_from(resource) as directory:
                cls._load_custom_dictionary(str(directory))
                saved = directory / MISSPELLINGS_FILE
                if saved.exists():
                    misspellings = load_misspellings(saved)
        except ValueError:
            logger.debug("No saved dictionaries for %s in the model", resource.name)
        return cls(config, model_storage, resource, misspellings=misspellings)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenizes the normalised text; tokens carry canonical words at the original offsets."""
        text = self._rewriter.rewrite(message.get(attribute))
        tokens = [Token(word, start) for (word, start, _end) in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)
