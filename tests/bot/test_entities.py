"""Tests for bot/components/entities.py: ChineseEntityExtractor on Rasa messages."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.entities import ChineseEntityExtractor

# A Wednesday: this week runs from Monday 2025-06-16 to Sunday 2025-06-22.
TODAY = date(2025, 6, 18)
# The characters the rules react to, so that random messages exercise them.
RULE_ALPHABET = (
    "0123456789一二两三四五六七八九十百千万零点元块钱期个月年日号周下这尾后四位是借还:-/.,，wk ¥半每第明底多"
)


@pytest.fixture(scope="module")
def extractor() -> ChineseEntityExtractor:
    return ChineseEntityExtractor({}, clock=lambda: TODAY)


def parse(extractor: ChineseEntityExtractor, text: str) -> list[dict[str, Any]]:
    message = Message.build(text=text)
    extractor.process([message])
    return message.get(ENTITIES, [])


def values_of(entities: list[dict[str, Any]], entity: str) -> list[Any]:
    return [e["value"] for e in entities if e["entity"] == entity]


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("5000", 5000, "5000"),
        ("5000元", 5000, "5000元"),
        ("五千块", 5000, "五千块"),
        ("3.5万", 35000, "3.5万"),
        ("想借三万五", 35000, "三万五"),
        ("借两千五百元", 2500, "两千五百元"),
        ("借1w", 10000, "1w"),
        ("1万块钱", 10000, "1万块钱"),
        ("我要借5000", 5000, "5000"),
        ("提前还2000", 2000, "2000"),
        ("就500", 500, "500"),
        ("我要借钱，7000", 7000, "7000"),
        ("I want to borrow 2000 😅", 2000, "2000"),
        ("能借我九千吗", 9000, "九千"),
        ("借5k", 5000, "5k"),
        ("我要貸款一萬", 10000, "一萬"),
        ("伍仟元", 5000, "伍仟元"),
        ("再借一笔4万", 40000, "4万"),
        ("转账1,000元给他", 1000, "1,000元"),
        ("I need to borrow 3000 asap", 3000, "3000"),
        ("提前还款5000", 5000, "5000"),
        ("金额:5000", 5000, "5000"),
        ("明天15:30还5000", 5000, "5000"),
    ],
)
def test_amount_money_surface_yields_integer_yuan(
    extractor: ChineseEntityExtractor, text: str, value: int, surface: str
) -> None:
    amounts = [e for e in parse(extractor, text) if e["entity"] == "amount"]

    assert [(e["value"], e["text"]) for e in amounts] == [(value, surface)]
    assert type(amounts[0]["value"]) is int
    assert text[amounts[0]["start"] : amounts[0]["end"]] == surface


def test_amount_with_fen_yields_two_place_float(extractor: ChineseEntityExtractor) -> None:
    assert values_of(parse(extractor, "还款¥1234.56"), "amount") == [1234.56]


@pytest.mark.parametrize(
    "text",
    [
        "123456",
        "验证码是907216",
        "13800138000",
        "我的手机号是13800138000",
        "尾号1234",
        "尾号12345",
        "2025年",
        "12期",
        "借了3次",
        "0921",
        "886",
        "万分感谢",
        "十分感谢",
        "我们一块去",
        "看一下还款计划",
        "借5000多",
        "3点5分",
        "还款日是15",
        "明天15:30还",
        "-5000",
    ],
)
def test_amount_non_money_number_yields_no_amount(extractor: ChineseEntityExtractor, text: str) -> None:
    assert values_of(parse(extractor, text), "amount") == []


@pytest.mark.parametrize(
    ("text", "months", "surface"),
    [
        ("12期", 12, "12期"),
        ("十二期", 12, "十二期"),
        ("12个月", 12, "12个月"),
        ("十个月", 10, "十个月"),
        ("分20期", 20, "20期"),
        ("半年", 6, "半年"),
        ("一年半", 18, "一年半"),
        ("贷3年", 36, "3年"),
        ("五期就行", 5, "五期"),
    ],
)
def test_term_period_surface_yields_months(
    extractor: ChineseEntityExtractor, text: str, months: int, surface: str
) -> None:
    terms = [e for e in parse(extractor, text) if e["entity"] == "term"]

    assert [(e["value"], e["text"]) for e in terms] == [(months, surface)]


@pytest.mark.parametrize(
    "text",
    [
        "第3期还了吗",
        "还这一期",
        "下一期几号还",
        "最近一期",
        "近三个月的流水",
        "帮我拉一下半年流水",
        "两年前借的",
        "3个月后再说",
        "2025年",
        "0期",
    ],
)
def test_term_point_in_time_or_instalment_index_yields_no_term(extractor: ChineseEntityExtractor, text: str) -> None:
    assert values_of(parse(extractor, text), "term") == []


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("尾号1234", "1234"),
        ("尾号是 1234", "1234"),
        ("卡号后四位1234", "1234"),
        ("末四位 6688", "6688"),
        ("尾號7788的卡", "7788"),
        ("尾号一二三四", "1234"),
        ("0921", "0921"),
    ],
)
def test_card_last4_tail_surface_yields_four_digit_string(
    extractor: ChineseEntityExtractor, text: str, digits: str
) -> None:
    assert values_of(parse(extractor, text), "card_last4") == [digits]


@pytest.mark.parametrize("text", ["尾号12345", "尾号123", "5000", "123456", "借1234"])
def test_card_last4_wrong_length_or_amount_yields_no_card(extractor: ChineseEntityExtractor, text: str) -> None:
    assert values_of(parse(extractor, text), "card_last4") == []


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("明天", "2025-06-19"),
        ("后天", "2025-06-20"),
        ("大后天", "2025-06-21"),
        ("昨天那笔转账", "2025-06-17"),
        ("下周一", "2025-06-23"),
        ("下周五", "2025-06-27"),
        ("这周一", "2025-06-16"),
        ("周五", "2025-06-20"),
        ("3月5日", "2025-03-05"),
        ("3月5号", "2025-03-05"),
        ("三月五号", "2025-03-05"),
        ("12月1日", "2025-12-01"),
        ("15号", "2025-06-15"),
        ("下个月15号", "2025-07-15"),
        ("下個月10號", "2025-07-10"),
        ("2026-12-01", "2026-12-01"),
        ("2026年12月1日", "2026-12-01"),
        ("月底", "2025-06-30"),
        ("3天后", "2025-06-21"),
    ],
)
def test_date_expression_yields_iso_date(extractor: ChineseEntityExtractor, text: str, iso: str) -> None:
    assert values_of(parse(extractor, text), "date") == [iso]


@pytest.mark.parametrize(
    ("text", "today", "iso"),
    [
        ("1月5日", date(2025, 12, 20), "2026-01-05"),
        ("12月28日", date(2026, 1, 3), "2025-12-28"),
        ("31号", date(2025, 6, 18), "2025-05-31"),
        ("2月29日", date(2027, 6, 1), "2028-02-29"),
    ],
)
def test_date_without_year_or_month_yields_closest_valid_date(text: str, today: date, iso: str) -> None:
    extractor = ChineseEntityExtractor({}, clock=lambda: today)

    assert values_of(parse(extractor, text), "date") == [iso]


@pytest.mark.parametrize("text", ["2月30日", "32号", "13月1日", "每月15号还款", "5日内到账", "2026-02-30"])
def test_date_impossible_or_recurring_yields_no_date_nor_amount(extractor: ChineseEntityExtractor, text: str) -> None:
    entities = parse(extractor, text)

    assert values_of(entities, "date") == []
    assert values_of(entities, "amount") == []


def test_process_loan_request_yields_all_entities_in_text_order(extractor: ChineseEntityExtractor) -> None:
    text = "我要借3.5万分20期，下周一放款到尾号1234的卡"

    entities = parse(extractor, text)

    assert [(e["entity"], e["value"], e["text"]) for e in entities] == [
        ("amount", 35000, "3.5万"),
        ("term", 20, "20期"),
        ("date", "2025-06-23", "下周一"),
        ("card_last4", "1234", "1234"),
    ]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in entities)


def test_process_bare_number_beside_term_yields_amount_and_term(extractor: ChineseEntityExtractor) -> None:
    entities = parse(extractor, "8000分10期")

    assert [(e["entity"], e["value"]) for e in entities] == [("amount", 8000), ("term", 10)]


def test_process_numeral_before_term_splits_amount_from_term(extractor: ChineseEntityExtractor) -> None:
    entities = parse(extractor, "借两万十期")

    assert [(e["entity"], e["value"]) for e in entities] == [("amount", 20000), ("term", 10)]


def test_process_entity_dict_has_rasa_keys_and_extractor_name(extractor: ChineseEntityExtractor) -> None:
    (entity,) = parse(extractor, "借五千块")

    assert entity == {
        "entity": "amount",
        "start": 1,
        "end": 4,
        "value": 5000,
        "text": "五千块",
        "extractor": "ChineseEntityExtractor",
    }


def test_process_entities_serialise_to_json(extractor: ChineseEntityExtractor) -> None:
    entities = parse(extractor, "明天还¥1234.56，尾号6688，分12期")

    assert json.loads(json.dumps(entities, ensure_ascii=False)) == entities


def test_process_existing_entities_are_kept(extractor: ChineseEntityExtractor) -> None:
    earlier = {"entity": "product", "start": 0, "end": 3, "value": "微粒贷", "extractor": "Other"}
    message = Message.build(text="微粒贷借5000", entities=[earlier])

    extractor.process([message])

    assert message.get(ENTITIES)[0] == earlier
    assert values_of(message.get(ENTITIES), "amount") == [5000]


def test_process_message_without_text_is_left_alone(extractor: ChineseEntityExtractor) -> None:
    message = Message(data={TEXT: ""})

    extractor.process([message])

    assert message.get(ENTITIES) is None


def test_process_dimensions_config_limits_entity_types() -> None:
    extractor = ChineseEntityExtractor({"dimensions": ["term"]}, clock=lambda: TODAY)

    assert [e["entity"] for e in parse(extractor, "借5000分12期，明天")] == ["term"]


def test_init_unknown_dimension_raises_value_error() -> None:
    with pytest.raises(ValueError, match="phone"):
        ChineseEntityExtractor({"dimensions": ["amount", "phone"]})


def test_create_through_rasa_api_counts_dates_from_real_today(tmp_path: Path) -> None:
    extractor = ChineseEntityExtractor.create(
        ChineseEntityExtractor.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("chinese_entity_extractor"),
        ExecutionContext(GraphSchema({})),
    )
    before = date.today()

    dates = values_of(parse(extractor, "明天"), "date")

    assert dates[0] in {(before + timedelta(days=1)).isoformat(), (date.today() + timedelta(days=1)).isoformat()}


def test_recipe_pipeline_with_extractor_passes_rasa_graph_validation() -> None:
    from rasa.engine import validation
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.shared.data import TrainingType

    config = {
        "recipe": "default.v1",
        "language": "zh",
        "pipeline": [
            {"name": "JiebaTokenizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "DIETClassifier", "entity_recognition": False},
            {"name": "bot.components.entities.ChineseEntityExtractor"},
            {"name": "EntitySynonymMapper"},
        ],
        "policies": [],
    }
    model_configuration = DefaultV1Recipe().graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)

    validation.validate(model_configuration)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=RULE_ALPHABET, max_size=16))
def test_process_any_text_yields_well_formed_entities(extractor: ChineseEntityExtractor, text: str) -> None:
    for entity in parse(extractor, text):
        assert text[entity["start"] : entity["end"]] == entity["text"] != ""
        value = entity["value"]
        if entity["entity"] == "date":
            assert date.fromisoformat(value).isoformat() == value
        elif entity["entity"] == "card_last4":
            assert len(value) == 4 and value.isdigit()
        else:
            assert isinstance(value, int | float) and 0 < value <= 10**9
