"""Durations read at a glance: seconds under a minute, not "0 minutes"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oms.models import BrokeringRun
from oms.templatetags.durations import duration
from tests.console.network.helpers import finished_run


def test_under_a_minute_is_said_in_seconds_and_longer_in_minutes():
    start = timezone.now()
    assert duration(start, start + timedelta(seconds=12.7)) == "12 s"
    assert duration(start, start) == "0 s"
    assert duration(start, start + timedelta(minutes=3, seconds=5)) == "3\xa0minutes"
    assert duration(None) == "—"


@pytest.mark.django_db
def test_the_runs_list_and_a_run_say_a_short_run_in_seconds(ops_client):
    run = finished_run()
    BrokeringRun.objects.filter(pk=run.pk).update(finished_at=run.started_at + timedelta(seconds=4))
    listing = ops_client.get("/console/runs/").content.decode()
    page = ops_client.get(f"/console/runs/{run.pk}/").content.decode()
    assert "4 s" in listing and "4 s" in page
    assert "0\xa0minutes" not in listing and "0\xa0minutes" not in page
