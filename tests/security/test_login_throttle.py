"""Login throttling (django-axes): wrong passwords lock a username and an address for a cool-off; the associate
is told why; operations staff see the lockout in the console and lift it."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"  # tests/factories.py


def sign_in(client, username: str, password: str, address: str = "10.1.1.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_the_username_even_for_the_right_password(client, settings):
    UserFactory(username="amy")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "amy", "nope").status_code == 200  # the form again, with its error
    assert sign_in(client, "amy", "nope").status_code == 429  # the failure that reaches the limit locks
    response = sign_in(client, "amy", PASSWORD)
    assert response.status_code == 429
    assert b"Too many wrong passwords" in response.content
    assert "_auth_user_id" not in client.session


def test_a_lockout_by_username_holds_from_another_address(client, settings):
    UserFactory(username="amy")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "amy", "nope", address="10.1.1.1")
    assert sign_in(client, "amy", PASSWORD, address="10.9.9.9").status_code == 429


def test_wrong_passwords_for_many_usernames_lock_the_address(client, settings):
    UserFactory(username="bob")
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess-{number}", "nope", address="10.2.2.2")
    assert sign_in(client, "bob", PASSWORD, address="10.2.2.2").status_code == 429
    assert sign_in(client, "bob", PASSWORD, address="10.3.3.3").status_code == 302  # another tablet signs in


def test_failures_below_the_limit_are_forgotten_after_a_good_sign_in(client, settings):
    UserFactory(username="amy")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "amy", "nope")
    assert sign_in(client, "amy", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "amy", "nope")
    assert sign_in(client, "amy", PASSWORD).status_code == 302


def test_operations_staff_see_the_lockout_and_unlock_it(client, operations_user, settings):
    UserFactory(username="amy")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "amy", "nope")
    client.force_login(operations_user)
    page = client.get(reverse("console:signins"))
    assert page.status_code == 200
    locked = page.context["locked"]
    assert [(row.attempt.username, row.attempt.ip_address) for row in locked] == [("amy", "10.1.1.1")]
    response = client.post(reverse("console:signin_unlock", args=[locked[0].attempt.pk]))
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert sign_in(client, "amy", PASSWORD).status_code == 302


def test_unlocking_what_is_already_unlocked_says_so(client, operations_user):
    client.force_login(operations_user)
    response = client.post(reverse("console:signin_unlock", args=[424242]))
    assert response.status_code == 409
    assert b"Nothing was unlocked" in response.content


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="amy")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "amy", "password": "nope"}, REMOTE_ADDR="10.0.0.1",
                    HTTP_X_FORWARDED_FOR="forged, 203.0.113.7")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
