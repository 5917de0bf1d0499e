"""The scope guard: a question about a product this knowledge base does not cover is not answered by an FAQ
about one it does.

Embeddings hear the shape of a question more than its subject: 房贷利率是多少 (mortgage rate) lands next to
微粒贷利率是多少, and 怎么提高信用卡额度 next to 怎么提高额度, with scores that clear the answer threshold. A
bank must not answer a mortgage question with the micro-loan's rate. ``knowledge_base/data/scope.yml`` lists the
products and services the knowledge base does not cover; when a question names one of them (after the same
folding as embedding: Traditional characters, misspellings) and a candidate FAQ's own wordings and answer never
mention it, that candidate's score drops by :data:`PENALTY`, enough to fall under the answer threshold, so the
bot clarifies or hands the customer to a person instead. An FAQ that does mention the product (微粒贷能还信用卡吗)
keeps its score.

The file::

    not_covered:
      - 房贷
      - 信用卡
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge_base.decision import Candidate
from knowledge_base.exceptions import DataError, Problem
from knowledge_base.loader import FaqCatalog
from knowledge_base.schema import NodeReader
from knowledge_base.text import Normaliser, default_normaliser

PENALTY = 0.1  # cosines of e5 models crowd into 0.7–1.0; a tenth moves a candidate below any sensible threshold


@dataclass(frozen=True)
class ScopeGuard:
    """The terms of products not covered, folded like questions."""

    terms: tuple[str, ...]
    normaliser: Normaliser

    @classmethod
    def load(cls, path: Path | None, normaliser: Normaliser | None = None) -> ScopeGuard:
        """Reads ``path`` (``not_covered: [term, …]``); None or a missing file gives a guard that does nothing.

        Raises:
            DataError: The file is not valid YAML or not a list of non-empty terms; the problems name the line.
        """
        normaliser = normaliser or default_normaliser()
        if path is None or not path.exists():
            return cls((), normaliser)
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError) as error:
            raise DataError([Problem(path, 0, f"cannot read the file: {error}")]) from error
        except yaml.MarkedYAMLError as error:
            line = error.problem_mark.line + 1 if error.problem_mark else 0
            raise DataError([Problem(path, line, f"not valid YAML: {error.problem}")]) from error
        if root is None:
            return cls((), normaliser)
        reader = NodeReader(path)
        fields = reader.mapping(root, "the file", {"not_covered"}, {"not_covered"})
        items = reader.sequence(fields["not_covered"], "not_covered") if fields and "not_covered" in fields else None
        terms: list[str] = []
        for item in items or []:
            text = reader.text(item, "a term")
            if text is not None:
                terms.append(normaliser(text).strip())
        if reader.problems:
            raise DataError(reader.problems)
        return cls(tuple(dict.fromkeys(term for term in terms if term)), normaliser)

    def named_in(self, question: str) -> tuple[str, ...]:
        """The not-covered terms the question names."""
        folded = self.normaliser(question)
        return tuple(term for term in self.terms if term in folded)

    def adjust(self, question: str, candidates: Sequence[Candidate], catalog: FaqCatalog) -> list[Candidate]:
        """The candidates with the penalty applied where an FAQ ignores a named term, best first again."""
        named = self.named_in(question) if self.terms else ()
        if not named:
            return list(candidates)
        adjusted = []
        for candidate in candidates:
            faq = catalog.get(candidate.faq_id)
            own_text = self.normaliser(" ".join((*faq.texts, faq.answer))) if faq is not None else ""
            if any(term not in own_text for term in named):
                candidate = candidate._replace(score=candidate.score - PENALTY)
            adjusted.append(candidate)
        return sorted(adjusted, key=lambda candidate: -candidate.score)
