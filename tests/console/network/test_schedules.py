"""Run schedules: the defaults until saved, editing an interval, switching off, validation next to the field."""

import json

import pytest
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db


def test_schedules_page_shows_the_defaults_from_settings_before_any_row_exists(ops_client):
    assert not PeriodicTask.objects.exists()

    response = ops_client.get("/console/runs/schedules/")

    page = response.content.decode()
    schedules = {schedule.name: schedule for schedule, _ in response.context["rows"]}
    assert (schedules["broker-brokering"].every, schedules["broker-brokering"].period) == (5, "minutes")
    assert schedules["broker-unfillable"].queue == "UNFILLABLE"
    assert "default from settings" in page and "saved (all of them) on the first change" in page


def test_saving_a_schedule_creates_the_rows_and_sets_its_interval(ops_client):
    response = ops_client.post("/console/runs/schedules/broker-rejected/", {
        "s-broker-rejected-enabled": "on", "s-broker-rejected-every": "2", "s-broker-rejected-period": "minutes",
        "s-broker-rejected-queue": "REJECTED"}, follow=True)

    assert "broker-rejected: every 2 minutes, enabled, queue REJECTED." in response.content.decode()
    task = PeriodicTask.objects.select_related("interval").get(name="broker-rejected")
    assert (task.interval.every, task.interval.period, task.enabled) == (2, "minutes", True)
    assert json.loads(task.kwargs) == {"queue": "REJECTED"}
    assert PeriodicTask.objects.filter(name="broker-brokering").exists()  # every default saved on the first change


def test_a_schedule_can_be_switched_off(ops_client):
    ops_client.post("/console/runs/schedules/broker-unfillable/", {
        "s-broker-unfillable-every": "1", "s-broker-unfillable-period": "hours",
        "s-broker-unfillable-queue": "UNFILLABLE"})

    assert PeriodicTask.objects.get(name="broker-unfillable").enabled is False


@pytest.mark.parametrize(("every", "period", "queue", "field", "message"), [
    ("0", "minutes", "BROKERING", "every", "Give a positive number."),
    ("-5", "seconds", "BROKERING", "every", "Give a positive number."),
    ("5", "seconds", "BROKERING", "every", "Runs must be at least 10 seconds apart."),
    ("abc", "seconds", "BROKERING", "every", "Give a whole number."),
    ("5", "minutes", "NOWHERE", "queue", "Unknown queue “NOWHERE”"),
    ("5", "minutes", "PRE_ORDER", "queue", "Unknown queue “PRE_ORDER”"),
])
def test_bad_schedules_are_refused_next_to_the_field(ops_client, every, period, queue, field, message):
    response = ops_client.post("/console/runs/schedules/broker-brokering/", {
        "s-broker-brokering-enabled": "on", "s-broker-brokering-every": every,
        "s-broker-brokering-period": period, "s-broker-brokering-queue": queue})

    assert response.status_code == 400
    bound = next(form for schedule, form in response.context["rows"] if schedule.name == "broker-brokering")
    assert message in " ".join(bound.errors[field])
    assert message.replace("“", "&quot;").split("&")[0] in response.content.decode()
    assert not PeriodicTask.objects.exists()


def test_an_unknown_schedule_is_404(ops_client):
    assert ops_client.post("/console/runs/schedules/nothing-here/", {}).status_code == 404


def test_a_schedule_change_is_recorded_with_who_and_what_changed(ops_client, operations_user):
    ops_client.post("/console/runs/schedules/broker-rejected/", {
        "s-broker-rejected-every": "2", "s-broker-rejected-period": "minutes", "s-broker-rejected-queue": "REJECTED"})

    page = ops_client.get("/console/runs/schedules/").content.decode()
    assert "broker-rejected</strong>: Changed in the console: every 5 minutes → every 2 minutes; enabled → disabled" \
        in page
    assert operations_user.get_full_name() in page or operations_user.username in page
