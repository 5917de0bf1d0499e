"""Measuring the knowledge base: held-out questions, sentence pairs, search latency.

* Held-out questions (``knowledge_base/eval/heldout.yml``): top-1 accuracy and recall@3 of the ranking, then
  what the decision rule does with them (coverage, wrong-answer rate, abstain precision and recall).
* Sentence pairs (``sentence1<TAB>sentence2<TAB>label``): cosine of the two sentences embedded exactly as the
  bot embeds questions, scored by Spearman correlation, ROC-AUC and accuracy at the answer threshold.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from knowledge_base.decision import Candidate, LabelledResult
from knowledge_base.embedder import Embedder
from knowledge_base.exceptions import LabelledDataError, Problem
from knowledge_base.loader import FaqCatalog
from knowledge_base.schema import NodeReader

RANKED = 5  # candidates kept per question: enough for recall@3 and the clarify options


@dataclass(frozen=True)
class LabelledQuestion:
    """A question and the FAQ that answers it (None: out of scope), with its line in the file."""

    text: str
    faq_id: str | None
    line: int


def load_heldout(path: Path, catalog: FaqCatalog) -> list[LabelledQuestion]:
    """Reads ``questions: [{q: …, faq: <id or null>}, …]`` and checks every label names a known FAQ.

    Raises:
        LabelledDataError: Listing every malformed entry with file and line.
    """
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except OSError as error:
        raise LabelledDataError([Problem(path, 0, f"cannot read the file: {error}")]) from error
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else 0
        raise LabelledDataError([Problem(path, line, f"not valid YAML: {error.problem}")]) from error
    reader = NodeReader(path)
    questions: list[LabelledQuestion] = []
    seen: dict[str, int] = {}
    if root is None:
        raise LabelledDataError([Problem(path, 1, "the file is empty")])
    fields = reader.mapping(root, "the file", {"questions"}, {"questions"})
    items = reader.sequence(fields["questions"], "questions") if fields and "questions" in fields else None
    for item in items or []:
        entry = reader.mapping(item, "a question", {"q", "faq"}, {"q", "faq"})
        if not entry or "q" not in entry or "faq" not in entry:
            continue
        text = reader.text(entry["q"], "q")
        label_node = entry["faq"]
        label: str | None = None
        if not (isinstance(label_node, yaml.ScalarNode) and label_node.tag == "tag:yaml.org,2002:null"):
            label = reader.text(label_node, "faq")
            if label is not None and catalog.get(label) is None:
                reader.problem(label_node, f"faq {label!r} is not in the knowledge base")
                continue
        if text is None:
            continue
        line = item.start_mark.line + 1
        if text in seen:
            reader.problem(item, f"the question {text!r} is already on line {seen[text]}")
            continue
        seen[text] = line
        questions.append(LabelledQuestion(text, label, line))
    if reader.problems:
        raise LabelledDataError(reader.problems)
    return questions


@dataclass(frozen=True)
class RankingReport:
    """How well the ranking puts the labelled FAQ first, or in the top three."""

    in_scope: int
    top1: float
    recall_at_3: float
    misses: tuple[tuple[str, str, str], ...]  # (question, labelled FAQ, FAQ ranked first) where top-1 is wrong


def rank_questions(
    questions: Sequence[LabelledQuestion], search: Callable[[str, int], list[Candidate]], *, progress: bool = False
) -> tuple[list[LabelledResult], list[float]]:
    """Searches every question; returns the labelled results and each search's latency in seconds."""
    from tqdm import tqdm

    results, latencies = [], []
    for question in tqdm(questions, desc="searching", unit="q", disable=not progress, leave=False):
        started = time.perf_counter()
        candidates = search(question.text, RANKED)
        latencies.append(time.perf_counter() - started)
        results.append(LabelledResult(question.faq_id, candidates))
    return results, latencies


def ranking_report(questions: Sequence[LabelledQuestion], results: Sequence[LabelledResult]) -> RankingReport:
    """Top-1 accuracy and recall@3 over the in-scope questions."""
    top1 = recall3 = 0
    misses = []
    in_scope = 0
    for question, result in zip(questions, results, strict=True):
        if result.gold is None:
            continue
        in_scope += 1
        ids = [candidate.faq_id for candidate in result.candidates]
        top1 += int(ids[:1] == [result.gold])
        recall3 += int(result.gold in ids[:3])
        if ids[:1] != [result.gold]:
            misses.append((question.text, result.gold, ids[0] if ids else "-"))
    return RankingReport(
        in_scope=in_scope,
        top1=top1 / in_scope if in_scope else 0.0,
        recall_at_3=recall3 / in_scope if in_scope else 0.0,
        misses=tuple(misses),
    )


def latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    """Median, 95th percentile and maximum, in milliseconds."""
    if not latencies:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


CROSS_VALIDATION_FOLDS = 5


def cross_validation_folds(
    items: Sequence[Any], folds: int = CROSS_VALIDATION_FOLDS
) -> list[tuple[list[int], list[int]]]:
    """(train, test) positions of ``folds`` interleaved folds: every item is tested once, by a calibration that
    never saw it. Five folds leave four fifths to calibrate on, so the thresholds are as stable as the data allows.
    """
    folds = max(2, min(folds, len(items)))
    tests = [list(range(fold, len(items), folds)) for fold in range(folds)]
    return [([i for i in range(len(items)) if i % folds != fold], test) for fold, test in enumerate(tests)]


@dataclass(frozen=True)
class Pair:
    """Two sentences and whether they mean the same (1) or not (0)."""

    first: str
    second: str
    label: int


def load_pairs(path: Path, limit: int | None = None) -> list[Pair]:
    """Reads ``sentence1<TAB>sentence2<TAB>label`` lines (label 0 or 1); blank lines are skipped.

    Raises:
        LabelledDataError: Listing every malformed line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise LabelledDataError([Problem(path, 0, f"cannot read the file: {error}")]) from error
    pairs, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[2].strip() not in ("0", "1") or not parts[0].strip() or not parts[1].strip():
            problems.append(Problem(path, number, "expected sentence1<TAB>sentence2<TAB>label with label 0 or 1"))
            continue
        pairs.append(Pair(parts[0].strip(), parts[1].strip(), int(parts[2])))
        if limit is not None and len(pairs) >= limit:
            break
    if problems:
        raise LabelledDataError(problems)
    if not pairs:
        raise LabelledDataError([Problem(path, 0, "no sentence pairs in the file")])
    return pairs


@dataclass(frozen=True)
class PairsReport:
    """Agreement of cosine similarity with sentence-pair labels."""

    pairs: int
    spearman_x100: float
    roc_auc: float
    accuracy: float
    threshold: float
    best_accuracy: float
    best_threshold: float


def pair_scores(pairs: Sequence[Pair], embedder: Embedder, *, progress: bool = False) -> np.ndarray:
    """Cosine similarity of each pair, both sentences embedded as the bot embeds a question."""
    sentences = sorted({sentence for pair in pairs for sentence in (pair.first, pair.second)})
    vectors = embedder.encode(sentences, progress=progress)
    row = {sentence: position for position, sentence in enumerate(sentences)}
    first = vectors[[row[pair.first] for pair in pairs]]
    second = vectors[[row[pair.second] for pair in pairs]]
    return np.einsum("ij,ij->i", first, second)


def pairs_report(pairs: Sequence[Pair], scores: np.ndarray, threshold: float) -> PairsReport:
    """Spearman ×100, ROC-AUC, accuracy at ``threshold`` and the best accuracy any threshold reaches."""
    from scipy.stats import rankdata, spearmanr

    labels = np.array([pair.label for pair in pairs])
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if positives and negatives:
        ranks = rankdata(scores)  # Mann-Whitney U: AUC = P(score of a positive > score of a negative)
        auc = (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
        spearman = float(spearmanr(scores, labels).correlation) * 100
    else:
        auc, spearman = float("nan"), float("nan")
    candidates = np.unique(np.round(scores, 4))
    accuracies = [float(((scores >= t) == (labels == 1)).mean()) for t in candidates]
    best = int(np.argmax(accuracies)) if accuracies else 0
    return PairsReport(
        pairs=len(pairs),
        spearman_x100=round(spearman, 2),
        roc_auc=round(float(auc), 4),
        accuracy=round(float(((scores >= threshold) == (labels == 1)).mean()), 4),
        threshold=threshold,
        best_accuracy=round(accuracies[best], 4) if accuracies else 0.0,
        best_threshold=float(candidates[best]) if accuracies else threshold,
    )
