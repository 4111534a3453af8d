"""The store most store-app tests work in: CHI-01 with an associate (Ada) and a manager (Grace)."""

import pytest

from tests.fulfillment.store_world import store_with_people


@pytest.fixture
def store():
    """(facility, associate, manager); a test file that needs another store overrides this fixture."""
    return store_with_people()
