"""Classifier tests need no Flask app or database: replace the autouse database fixture."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_database():
    yield
