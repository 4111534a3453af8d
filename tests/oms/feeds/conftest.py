"""Fixtures of the feed tests: a feeds folder per test (the worker tests share the session's), a small world."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from stores.stock import stock_levels_open
from tests.factories import FacilityFactory, ProductFactory


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


@pytest.fixture
def world(db):
    """Berlin (Europe/Berlin) and Chicago, two products, 10 units of each everywhere, stocked two days ago."""
    berlin = FacilityFactory(code="BER-01", time_zone="Europe/Berlin")
    chicago = FacilityFactory(code="CHI-01", time_zone="America/Chicago")
    lamp, vase = ProductFactory(sku="LAMP-1"), ProductFactory(sku="VASE-1")
    with transaction.atomic():
        stock_levels_open(levels=[(f.pk, p.pk, 10, "") for f in (berlin, chicago) for p in (lamp, vase)],
                          source="test", now=timezone.now() - timedelta(days=2))
    return berlin, chicago, lamp, vase
