"""Beat seeds the schedules from settings once and never writes over what operations staff edited."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from oms.beat import DefaultsOnceScheduler
from oms.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def start_beat() -> None:
    DefaultsOnceScheduler(app=app, lazy=True).setup_schedule()


def test_beat_creates_the_missing_schedules_and_keeps_edited_ones():
    start_beat()
    assert set(app.conf.beat_schedule) <= set(PeriodicTask.objects.values_list("name", flat=True))

    edited = PeriodicTask.objects.get(name="broker-brokering")
    edited.interval, _ = IntervalSchedule.objects.get_or_create(every=17, period=IntervalSchedule.MINUTES)
    edited.kwargs = '{"queue": "REJECTED"}'
    edited.save()
    PeriodicTask.objects.filter(name="approve-orders").delete()

    start_beat()  # beat restarted

    edited = PeriodicTask.objects.get(name="broker-brokering")
    assert (edited.interval.every, edited.interval.period, edited.kwargs) == (17, "minutes", '{"queue": "REJECTED"}')
    assert PeriodicTask.objects.filter(name="approve-orders").exists()  # a missing one comes back
