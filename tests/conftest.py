"""The suite runs offline, as CI does: nothing may reach the Hub, and Gradio may not phone home.

It also fails on deprecations. Our model file runs as Hub remote code on whatever transformers a user has, and a
rename (``past_key_values`` -> ``cache`` in transformers 5.25) announces itself first as a warning: a test that
triggers one fails, so the rename is caught the day it is announced, not the day the old name is removed.
Libraries announce them in two ways, both caught: Python ``DeprecationWarning`` / ``FutureWarning`` (made errors in
``pyproject.toml``), and log records (transformers' ``logger.warning_once("... deprecated ...")``), caught here (and
in the fresh processes of ``tiny_model.run_without_project``, from their stderr).
"""

import logging
import os

import pytest
from environment import WATCHED_LOGGERS, DeprecationRecords, require_extra

for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE"):
    os.environ.setdefault(variable, "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def extract_extra():
    """For a test that reads a video: MediaPipe and OpenCV, or a skip naming the extra. Gives ``cv2``."""
    return require_extra("extract", "mediapipe", "cv2")


LOGGED_DEPRECATIONS = DeprecationRecords()


def pytest_configure(config: pytest.Config) -> None:
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(LOGGED_DEPRECATIONS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A phase (setup, call, teardown) during which a library logged a deprecation fails, naming it."""
    report = yield
    messages, LOGGED_DEPRECATIONS.messages = LOGGED_DEPRECATIONS.messages, []
    if messages and report.passed:
        report.outcome = "failed"
        report.longrepr = f"a library logged a deprecation during {call.when}:\n" + "\n".join(messages)
    return report
