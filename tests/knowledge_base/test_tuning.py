"""Fine-tuning on the paraphrase groups: the held-out split, the batches, and a whole run on the tiny model."""

from __future__ import annotations

import random
from pathlib import Path

from knowledge_base.loader import load_catalog
from knowledge_base.settings import Settings
from knowledge_base.tuning import TuningOptions, batches, split_paraphrases, tune
from tests.knowledge_base.tiny import MORE_FAQS, write_faqs


def test_split_paraphrases_holds_one_out_per_faq_with_two_or_more(settings: Settings) -> None:
    catalog = load_catalog(settings.data_dir)

    kept, held_out = split_paraphrases(catalog, seed=7)

    assert [q.faq_id for q in held_out] == ["limit-001", "overdue-001"]
    for question in held_out:
        faq = kept.get(question.faq_id or "")
        assert faq is not None and question.text not in faq.texts
    assert kept.get("limit-002") == catalog.get("limit-002")


def test_batches_never_hold_two_pairs_of_one_faq() -> None:
    triplets = [(f"faq-{n % 3}", f"a{n}", f"p{n}", f"n{n}") for n in range(12)]

    result = batches(triplets, size=4, rng=random.Random(1))

    assert all(len({t[0] for t in batch}) == len(batch) for batch in result)
    assert sum(len(batch) for batch in result) == 12


def test_tune_tiny_model_reports_both_models_and_keeps_only_a_better_one(settings: Settings, tmp_path: Path) -> None:
    write_faqs(settings.data_dir, MORE_FAQS)
    out = tmp_path / "tuned"

    result = tune(settings, out, TuningOptions(epochs=2, batch_size=4, learning_rate=0.05))

    assert result.held_out == 4
    assert 0.0 <= result.base.paraphrase_top1 <= 1.0 and 0.0 <= result.tuned.paraphrase_top1 <= 1.0
    assert result.kept == (result.tuned.paraphrase_top1 > result.base.paraphrase_top1)
    assert out.exists() == result.kept
    assert "held-out paraphrases top-1" in result.summary()
