"""Errors of the custom NLU components.

Hierarchy::

    ComponentError
    └── DictionaryError   a dictionary or misspellings file is unreadable or malformed
"""


class ComponentError(Exception):
    """Base of every error raised by kefu's NLU components."""


class DictionaryError(ComponentError):
    """A dictionary file is unreadable or malformed; the message names the file and line."""
