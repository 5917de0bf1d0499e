"""Fine-tuning the embedding model on the knowledge base's own paraphrase groups.

Each FAQ's wordings are a group of sentences that must land close together. Training pairs are (wording,
another wording of the same FAQ) with a hard negative — the closest wording of a *different* FAQ under the
current model — and sentence-transformers' MultipleNegativesRankingLoss: every other pair in the batch is a
negative too, so a batch never holds two pairs of the same FAQ.

One paraphrase per FAQ is held out of training and out of the evaluation index; the tuned model is kept only
if it ranks those held-out paraphrases better than the base model (and, when the held-out question file is
there, does not rank it worse).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.decision import Thresholds
from knowledge_base.embedder import TORCH, Embedder, model_fingerprint
from knowledge_base.evaluation import LabelledQuestion, load_heldout, rank_questions, ranking_report
from knowledge_base.exceptions import TuningError
from knowledge_base.index import FaqIndex
from knowledge_base.loader import FaqCatalog, load_catalog
from knowledge_base.settings import IndexKind, Settings

MIN_FAQS = 4  # in-batch negatives need a few FAQs; below this there is nothing to learn from
WARMUP_SHARE = 0.1  # linear warm-up over the first 10 % of steps, the sentence-transformers default
TUNING_VERSION = 1  # bump when the training recipe changes, so that `kefu kb tune --if-stale` tunes again


@dataclass(frozen=True)
class TuningOptions:
    """Training hyper-parameters.

    One epoch over the ~1,200 pairs of 209 FAQs took 5½ minutes on one thread of a busy two-core machine
    (10 minutes with scoring both models); one epoch already lifted held-out top-1 from 93.5 % to 97.3 %.
    """

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    seed: int = 7


@dataclass(frozen=True)
class Scores:
    """Ranking quality of one model: on held-out paraphrases, and on the held-out question file if any."""

    paraphrase_top1: float
    paraphrase_recall_at_3: float
    heldout_top1: float | None
    heldout_recall_at_3: float | None


@dataclass(frozen=True)
class TuningResult:
    """Base and tuned scores, and whether the tuned model was kept."""

    base: Scores
    tuned: Scores
    kept: bool
    pairs: int
    held_out: int
    seconds: float

    def summary(self) -> str:
        """The comparison as a few lines of text."""

        def line(name: str, scores: Scores) -> str:
            text = (
                f"{name:<5} held-out paraphrases top-1 {scores.paraphrase_top1:.1%}, "
                f"recall@3 {scores.paraphrase_recall_at_3:.1%}"
            )
            if scores.heldout_top1 is not None and scores.heldout_recall_at_3 is not None:
                text += (
                    f"; held-out questions top-1 {scores.heldout_top1:.1%}, recall@3 {scores.heldout_recall_at_3:.1%}"
                )
            return text

        return "\n".join(
            [
                f"trained on {self.pairs} pairs, evaluated on {self.held_out} held-out paraphrases "
                f"({self.seconds:.0f} s)",
                line("base", self.base),
                line("tuned", self.tuned),
            ]
        )


def run_record_path(out: Path) -> Path:
    """Where a tuning run into ``out`` is recorded, kept or not: ``<out>.tuning.json`` beside the folder."""
    return out.with_name(f"{out.name}.tuning.json")


def run_key(base: str, options: TuningOptions) -> str:
    """What a tuning run depends on: the base model's weights, the options and the recipe's version.

    The FAQ data is left out on purpose: a model tuned on the knowledge base generalises to later edits, and
    retuning (minutes of CPU) is a trainer's decision (`kefu kb tune`), not a side effect of every FAQ edit.
    """
    return json.dumps(
        {"base": model_fingerprint(base, TORCH), "options": dataclasses.asdict(options), "version": TUNING_VERSION},
        sort_keys=True,
    )


def previous_run(base: str, out: Path, options: TuningOptions) -> dict[str, Any] | None:
    """The record of an earlier run with the same key whose outcome still stands, or None."""
    try:
        record = json.loads(run_record_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != run_key(base, options):
        return None
    if record.get("kept") and not (out / "modules.json").is_file():
        return None  # the tuned model was deleted since
    return record


def split_paraphrases(catalog: FaqCatalog, seed: int) -> tuple[FaqCatalog, list[LabelledQuestion]]:
    """Holds one paraphrase out of every FAQ that has two or more; returns the rest and the held-out ones."""
    kept, held_out = [], []
    for faq in catalog:
        if len(faq.paraphrases) < 2:
            kept.append(faq)
            continue
        digest = hashlib.sha256(f"{seed}:{faq.id}".encode()).digest()
        position = digest[0] % len(faq.paraphrases)
        held_out.append(LabelledQuestion(faq.paraphrases[position], faq.id, 0))
        rest = faq.paraphrases[:position] + faq.paraphrases[position + 1 :]
        kept.append(replace(faq, paraphrases=rest))
    return FaqCatalog(tuple(kept)), held_out


def training_triplets(catalog: FaqCatalog, embedder: Embedder, seed: int) -> list[tuple[str, str, str, str]]:
    """(FAQ id, anchor, positive, hard negative) for every wording of every FAQ."""
    rng = random.Random(seed)
    texts = [text for faq in catalog for text in faq.texts]
    owners = np.array([faq.id for faq in catalog for _ in faq.texts])
    vectors = embedder.encode(texts, progress=True)
    similarity = vectors @ vectors.T
    similarity[owners[:, None] == owners[None, :]] = -np.inf  # negatives come from other FAQs only
    hardest = similarity.argmax(axis=1)
    triplets = []
    position = 0
    for faq in catalog:
        for own, anchor in enumerate(faq.texts):
            others = [text for index, text in enumerate(faq.texts) if index != own]
            if others:
                triplets.append((faq.id, anchor, rng.choice(others), texts[hardest[position]]))
            position += 1
    return triplets


def batches(
    triplets: list[tuple[str, str, str, str]], size: int, rng: random.Random
) -> list[list[tuple[str, str, str, str]]]:
    """Shuffled batches in which no FAQ appears twice (its other pair would be a false negative)."""
    pending = triplets[:]
    rng.shuffle(pending)
    result: list[list[tuple[str, str, str, str]]] = []
    while pending:
        batch: list[tuple[str, str, str, str]] = []
        rest: list[tuple[str, str, str, str]] = []
        seen: set[str] = set()
        for triplet in pending:
            if triplet[0] not in seen and len(batch) < size:
                batch.append(triplet)
                seen.add(triplet[0])
            else:
                rest.append(triplet)
        result.append(batch)
        pending = rest
    return [batch for batch in result if len(batch) > 1]


def score(embedder: Embedder, catalog: FaqCatalog, questions: list[LabelledQuestion]) -> tuple[float, float]:
    """Top-1 and recall@3 of ``questions`` against an in-memory exact index of ``catalog``."""
    embedder.clear_cache()
    index = FaqIndex.build(catalog, embedder, kind=IndexKind.FLAT, thresholds=Thresholds(1.0, 0.0, 1.0))
    results, _ = rank_questions(questions, lambda text, k: index.search(embedder.encode_query(text), k))
    report = ranking_report(questions, results)
    return report.top1, report.recall_at_3


def tune(settings: Settings, out: Path, options: TuningOptions) -> TuningResult:
    """Fine-tunes ``settings.embedding_model`` on the FAQ paraphrases; saves it to ``out`` only if it is better.

    Raises:
        TuningError: Too few FAQs to train on.
        DataError: The FAQ files are invalid.
        ModelError: The base model cannot be loaded.
    """
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from tqdm import tqdm

    started = time.monotonic()
    catalog = load_catalog(settings.data_dir)
    if len(catalog) < MIN_FAQS:
        raise TuningError(f"fine-tuning needs at least {MIN_FAQS} FAQs, the knowledge base has {len(catalog)}")
    train_catalog, held_out = split_paraphrases(catalog, options.seed)
    heldout_questions = (
        [q for q in load_heldout(settings.heldout_path, catalog) if q.faq_id is not None]
        if settings.heldout_path.exists()
        else []
    )
    torch.manual_seed(options.seed)
    embedder = Embedder(
        settings.embedding_model,
        cache_size=len(held_out) + len(heldout_questions) + 1,
        threads=settings.torch_threads,
        backend="torch",  # fine-tuning trains the PyTorch model
    )
    base = _scores(embedder, train_catalog, catalog, held_out, heldout_questions)

    triplets = training_triplets(train_catalog, embedder, options.seed)
    model = embedder.model
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate)
    rng = random.Random(options.seed)
    plan = [batches(triplets, options.batch_size, rng) for _ in range(options.epochs)]
    steps = sum(len(epoch) for epoch in plan)
    warmup = max(1, int(steps * WARMUP_SHARE))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    model.train()
    with tqdm(total=steps, desc="fine-tuning", unit="batch") as bar:
        for epoch in plan:
            for batch in epoch:
                columns = [[embedder.model_input(triplet[column]) for triplet in batch] for column in (1, 2, 3)]
                features = [model.preprocess(column) for column in columns]
                value = loss(features, torch.zeros(len(batch)))
                value.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                bar.set_postfix(loss=f"{value.item():.3f}")
                bar.update()
    model.eval()
    tuned = _scores(embedder, train_catalog, catalog, held_out, heldout_questions)

    better = tuned.paraphrase_top1 > base.paraphrase_top1
    not_worse = tuned.heldout_top1 is None or base.heldout_top1 is None or tuned.heldout_top1 >= base.heldout_top1
    kept = better and not_worse
    if kept:
        staging = out.with_name(f".{out.name}.staging")
        shutil.rmtree(staging, ignore_errors=True)
        model.save(str(staging))
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
    result = TuningResult(
        base=base,
        tuned=tuned,
        kept=kept,
        pairs=len(triplets),
        held_out=len(held_out),
        seconds=time.monotonic() - started,
    )
    _record_run(out, run_key(settings.embedding_model, options), result)
    return result


def _record_run(out: Path, key: str, result: TuningResult) -> None:
    record = {
        "key": key,
        "kept": result.kept,
        "tuned_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "base_scores": dataclasses.asdict(result.base),
        "tuned_scores": dataclasses.asdict(result.tuned),
        "pairs": result.pairs,
        "seconds": round(result.seconds, 1),
    }
    path = run_record_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    staged.replace(path)


def _scores(
    embedder: Embedder,
    train_catalog: FaqCatalog,
    catalog: FaqCatalog,
    held_out: list[LabelledQuestion],
    heldout_questions: list[LabelledQuestion],
) -> Scores:
    top1, recall3 = score(embedder, train_catalog, held_out)
    if not heldout_questions:
        return Scores(top1, recall3, None, None)
    heldout_top1, heldout_recall3 = score(embedder, catalog, heldout_questions)
    return Scores(top1, recall3, heldout_top1, heldout_recall3)
