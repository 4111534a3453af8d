"""Fixtures of the order-management tests: feed files never land in another test's folder."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings


@pytest.fixture(autouse=True)
def feeds_dir(request, settings, tmp_path):
    """Each test's own FEEDS_DIR; a test on the real worker uses the one it shares with it (var/test), emptied."""
    if request.node.get_closest_marker("celery"):
        folder = Path(django_settings.FEEDS_DIR)
        shutil.rmtree(folder, ignore_errors=True)
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
        return
    settings.FEEDS_DIR = tmp_path / "feeds"
    yield settings.FEEDS_DIR
