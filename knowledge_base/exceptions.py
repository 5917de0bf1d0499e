"""Errors of the knowledge base.

Every error carries a stable string ``code`` and the HTTP ``status`` a server should answer with; the hub turns
them into replies in one place, the CLI prints the message and exits non-zero.

Hierarchy::

    KnowledgeBaseError                     500  kb_error
    ├── SettingsError                      500  kb_settings_invalid    an environment variable is malformed
    ├── DataError                          500  kb_data_invalid        FAQ files fail validation (file:line list)
    │   └── InvalidEditError               422  kb_edit_invalid        an edit (trainer console) was refused
    ├── FaqNotFoundError                   404  kb_faq_not_found       an edit names an FAQ that does not exist
    ├── EditConflictError                  409  kb_edit_conflict       the FAQ changed since the editor read it
    ├── LabelledDataError                  500  kb_labelled_invalid    held-out or pairs file is malformed
    ├── ModelError                         503  kb_model_unavailable   the embedding model cannot be loaded
    ├── IndexUnavailableError              503  kb_index_unavailable   no index on disk, or it is unreadable
    │   └── IndexIncompatibleError         503  kb_index_incompatible  index built by another model / format
    └── TuningError                        500  kb_tuning_failed       fine-tuning could not run
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KnowledgeBaseError(Exception):
    """Base of every error raised by the knowledge base."""

    code = "kb_error"
    status = 500


class SettingsError(KnowledgeBaseError):
    """An environment variable has a malformed value; the message names the variable."""

    code = "kb_settings_invalid"


@dataclass(frozen=True, order=True)
class Problem:
    """One reason a file is invalid, located by file and 1-based line."""

    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class _ProblemsError(KnowledgeBaseError):
    """An error that lists every problem found, so one run shows all of them."""

    summary = "invalid files"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"{self.summary}: {count} problem{'s' if count != 1 else ''}\n{lines}")


class DataError(_ProblemsError):
    """The FAQ files are invalid; nothing was loaded. ``problems`` lists each file, line and reason."""

    code = "kb_data_invalid"
    summary = "the knowledge base data is invalid"


class InvalidEditError(DataError):
    """An edit was refused because the folder would be invalid with it; every file is as it was.

    ``file`` is the file the edited FAQ would be in, ``fields`` the edited FAQ's field on each of its lines there
    (``question``, ``paraphrases[2]`` …), so a form can point at the box to fix.
    """

    code = "kb_edit_invalid"
    status = 422

    def __init__(self, problems: list[Problem], file: Path | None = None, fields: dict[int, str] | None = None) -> None:
        super().__init__(problems)
        self.file = file
        self.fields = fields or {}


class FaqNotFoundError(KnowledgeBaseError):
    """An edit names an FAQ id that is not in the data."""

    code = "kb_faq_not_found"
    status = 404


class EditConflictError(KnowledgeBaseError):
    """The FAQ changed since the editor read it (another trainer saved first)."""

    code = "kb_edit_conflict"
    status = 409


class LabelledDataError(_ProblemsError):
    """A held-out question file or a sentence-pairs file is malformed."""

    code = "kb_labelled_invalid"
    summary = "the labelled data is invalid"


class ModelError(KnowledgeBaseError):
    """The embedding model cannot be loaded (missing folder, not a sentence-transformers model)."""

    code = "kb_model_unavailable"
    status = 503


class IndexUnavailableError(KnowledgeBaseError):
    """There is no index on disk yet, or it cannot be read."""

    code = "kb_index_unavailable"
    status = 503


class IndexIncompatibleError(IndexUnavailableError):
    """The index on disk was built by another embedding model or an older format."""

    code = "kb_index_incompatible"


class TuningError(KnowledgeBaseError):
    """Fine-tuning the embedding model could not run (too little data, model not trainable)."""

    code = "kb_tuning_failed"
