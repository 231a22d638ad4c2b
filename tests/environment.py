"""What the suite asks of the environment it runs in (see conftest.py).

- A library's deprecation fails the test that triggers it: how libraries announce them in their logs.
- The extras may be missing: CI's second environment (the declared floors) installs the core alone, so the tests
  that read videos or serve the Space are skipped there, with a reason that names the extra.
"""

import importlib.util
import logging
import re

import pytest

# The libraries whose API this package calls; each logs under its package name.
WATCHED_LOGGERS = ("transformers", "datasets", "accelerate", "huggingface_hub", "evaluate", "torch")
DEPRECATION_WORDS = re.compile(r"deprecat|will be removed", re.IGNORECASE)
# Python's own deprecation categories, made errors in a fresh process (``python -W``) as pyproject.toml does here.
ERROR_ON_DEPRECATION_FLAGS = ["-W", "error::DeprecationWarning", "-W", "error::FutureWarning"]


class DeprecationRecords(logging.Handler):
    """Collects the WARNING records that announce a deprecation."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if DEPRECATION_WORDS.search(message):
            self.messages.append(f"{record.name}: {message}")


MISSING_EXTRA = "needs the '{}' extra, not installed here: pip install 'signattention[{}]'"


def require_extra(extra: str, *modules: str):
    """Skip the calling test (or module) where ``modules`` cannot be imported; return the last one."""
    for module in modules:
        imported = pytest.importorskip(module, reason=MISSING_EXTRA.format(extra, extra))
    return imported


def unless_extra(extra: str, *modules: str) -> pytest.MarkDecorator:
    """A mark that skips a test (or one parameter of it) where ``modules`` are not installed, naming the extra."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    return pytest.mark.skipif(bool(missing), reason=MISSING_EXTRA.format(extra, extra))
