"""Console fixtures: an operations user's client, and the store users who must never see the console."""

import pytest
from django.test import Client

from stores.models import StoreMembership
from tests.factories import FacilityFactory, MembershipFactory, UserFactory


@pytest.fixture
def ops_client(operations_user) -> Client:
    client = Client()
    client.force_login(operations_user)
    return client


@pytest.fixture(params=[StoreMembership.Role.ASSOCIATE, StoreMembership.Role.MANAGER])
def store_client(request) -> Client:
    """A store associate or manager: the console is not there for them."""
    user = UserFactory(username=f"console-{request.param.lower()}")
    MembershipFactory(user=user, facility=FacilityFactory(code="CON-01"), role=request.param)
    client = Client()
    client.force_login(user)
    return client
