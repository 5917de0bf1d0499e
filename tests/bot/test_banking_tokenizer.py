"""The jieba tokenizer with the banking dictionary and misspelling rewriting."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.banking_tokenizer import BankingJiebaTokenizer, MisspellingRewriter, load_misspellings
from bot.components.exceptions import DictionaryError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DICTIONARY = PROJECT_ROOT / "bot" / "dictionary"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> BankingJiebaTokenizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("model-storage"))
    config = {
        **BankingJiebaTokenizer.get_default_config(),
        "dictionary_path": str(DICTIONARY / "jieba"),
        "misspellings_path": str(DICTIONARY / "misspellings.txt"),
    }
    context = ExecutionContext(GraphSchema({}), "test")
    return BankingJiebaTokenizer.create(config, storage, Resource("tokenizer"), context)


def _tokens(tokenizer: BankingJiebaTokenizer, text: str) -> list[tuple[str, int]]:
    return [(token.text, token.start) for token in tokenizer.tokenize(Message(data={TEXT: text}), TEXT)]


@pytest.mark.parametrize("text", ["微粒贷怎么借", "微粒货怎么借", "微利贷怎么借", "微粒代怎么借"])
def test_tokenizer_product_name_and_its_misspellings_give_one_canonical_token(
    tokenizer: BankingJiebaTokenizer, text: str
) -> None:
    assert _tokens(tokenizer, text)[0] == ("微粒贷", 0)


def test_tokenizer_banking_words_stay_whole(tokenizer: BankingJiebaTokenizer) -> None:
    words = [word for word, _ in _tokens(tokenizer, "我想提前还款，要人脸识别吗，手语视频有吗")]
    assert {"提前还款", "人脸识别", "手语视频"} <= set(words)


def test_tokenizer_offsets_point_into_the_original_text(tokenizer: BankingJiebaTokenizer) -> None:
    text = "你好，微粒货的额度"
    for word, start in _tokens(tokenizer, text):
        original = text[start : start + len(word)]
        assert len(original) == len(word)
    assert ("微粒贷", 3) in _tokens(tokenizer, text)


def test_tokenizer_message_text_is_left_as_typed(tokenizer: BankingJiebaTokenizer) -> None:
    message = Message(data={TEXT: "微粒货额度"})
    tokenizer.process([message])
    assert message.get(TEXT) == "微粒货额度"


def test_tokenizer_persists_and_reloads_misspellings(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("tok")
    config = {
        **BankingJiebaTokenizer.get_default_config(),
        "dictionary_path": str(DICTIONARY / "jieba"),
        "misspellings_path": str(DICTIONARY / "misspellings.txt"),
    }
    context = ExecutionContext(GraphSchema({}), "test")
    BankingJiebaTokenizer.create(config, storage, resource, context).persist()
    moved = {**config, "misspellings_path": str(tmp_path / "gone.txt")}  # the project file is not needed
    loaded = BankingJiebaTokenizer.load(moved, storage, resource, context)
    assert _tokens(loaded, "微利贷")[0] == ("微粒贷", 0)


def test_rewriter_replaces_longest_match_first() -> None:
    rewriter = MisspellingRewriter({"微粒货": "微粒贷", "粒货": "粒贷"})
    assert rewriter.rewrite("微粒货和粒货") == "微粒贷和粒贷"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("微粒货 微粒贷\n", "expected 'misspelling<TAB>canonical'"),
        ("微粒货\t微粒贷款\n", "differ in length"),
        ("微粒货\t微粒贷\n微粒货\t微粒贷\n", "listed twice"),
        ("微粒货\t\n", "expected 'misspelling<TAB>canonical'"),
    ],
)
def test_load_misspellings_malformed_file_names_file_line_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "misspellings.txt"
    path.write_text("# comment\n" + content, encoding="utf-8")
    with pytest.raises(DictionaryError, match=reason) as error:
        load_misspellings(path)
    assert f"{path}:" in str(error.value)


def test_load_misspellings_missing_file_is_a_dictionary_error(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="cannot read"):
        load_misspellings(tmp_path / "missing.txt")


def test_project_misspellings_map_to_words_in_the_jieba_dictionary() -> None:
    dictionary = {
        line.split()[0]
        for path in (DICTIONARY / "jieba").glob("*.txt")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    canonical = set(load_misspellings(DICTIONARY / "misspellings.txt").values())
    assert canonical - dictionary == set()
