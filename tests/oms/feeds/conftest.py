"""Fixtures of the feed tests: a small world (each test's feeds folder comes from tests/oms/conftest.py)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from stores.stock import stock_levels_open
from tests.factories import FacilityFactory, ProductFactory


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
