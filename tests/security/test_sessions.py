"""Shared tablets: a session ends SESSION_IDLE_MINUTES after its last use, and using it keeps it alive."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def stored(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_lives_the_idle_time_from_login(client, settings):
    client.force_login(UserFactory())
    left = stored(client).expire_date - timezone.now()
    idle = timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    assert idle - timedelta(minutes=1) < left <= idle


def test_using_the_session_pushes_its_end_back(client, settings):
    client.force_login(UserFactory())
    session = client.session
    session["_touched"] = int(time.time()) - 25 * 60  # last used 25 minutes ago
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get(reverse("home")).status_code == 403  # a user of no store: still a use of the session
    left = stored(client).expire_date - timezone.now()
    assert left > timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1)


def test_a_session_idle_for_longer_is_signed_out(client):
    client.force_login(UserFactory())
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_scans_within_a_minute_do_not_write_the_session_again(client):
    client.force_login(UserFactory())
    client.get(reverse("home"))
    before = stored(client).expire_date
    client.get(reverse("home"))
    assert stored(client).expire_date == before


def test_every_password_validator_is_on(settings):
    from django.contrib.auth.password_validation import ValidationError, validate_password

    names = {validator["NAME"].rsplit(".", 1)[1] for validator in settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {"UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
                     "NumericPasswordValidator"}
    for weak in ("password123", "12345678901", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak)
