"""The brokering (and other periodic) task schedules operations staff edit: django-celery-beat's PeriodicTasks.

Beat's DatabaseScheduler creates the rows from settings.CELERY_BEAT_SCHEDULE when it starts; until then the
console shows the defaults from settings, and the first save creates every missing row.
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

BROKER_TASK = "oms.tasks.broker_queue"
PERIODS = {  # period → seconds, for the "at least" rule and for showing an interval in seconds
    IntervalSchedule.SECONDS: 1, IntervalSchedule.MINUTES: 60, IntervalSchedule.HOURS: 3600,
    IntervalSchedule.DAYS: 86400,
}


class ScheduleError(ValueError):
    """A schedule that cannot be saved as asked."""


@dataclass
class Schedule:
    """One periodic task as the console shows it (a saved row, or a default from settings not saved yet)."""

    name: str
    task: str
    enabled: bool
    every: int | None  # None: not an interval schedule (crontab, solar, clocked: edited in the admin)
    period: str
    kwargs: dict
    saved: bool
    last_run_at: object = None
    other_schedule: str = ""

    @property
    def queue(self) -> str:
        return str(self.kwargs.get("queue", "")) if self.task == BROKER_TASK else ""


def _interval(seconds: float) -> tuple[int, str]:
    """The plainest (every, period) for a number of seconds: 300 → (5, minutes)."""
    seconds = int(seconds)
    for period in (IntervalSchedule.HOURS, IntervalSchedule.MINUTES):
        if seconds and seconds % PERIODS[period] == 0:
            return seconds // PERIODS[period], period
    return seconds, IntervalSchedule.SECONDS


def _defaults() -> dict[str, dict]:
    return dict(getattr(settings, "CELERY_BEAT_SCHEDULE", {}) or {})


def _default_schedule(name: str, entry: dict) -> Schedule:
    schedule = entry["schedule"]
    every, period = (_interval(schedule) if isinstance(schedule, int | float) else (None, ""))
    return Schedule(name=name, task=entry["task"], enabled=True, every=every, period=period,
                    kwargs=dict(entry.get("kwargs") or {}), saved=False,
                    other_schedule="" if every is not None else str(schedule))


def _row_schedule(task: PeriodicTask) -> Schedule:
    try:
        kwargs = json.loads(task.kwargs or "{}")
    except ValueError:
        kwargs = {}
    interval = task.interval
    other = ""
    if interval is None:
        other = str(task.crontab or task.solar or task.clocked or "")
    return Schedule(name=task.name, task=task.task, enabled=task.enabled,
                    every=interval.every if interval else None, period=interval.period if interval else "",
                    kwargs=kwargs if isinstance(kwargs, dict) else {}, saved=True, last_run_at=task.last_run_at,
                    other_schedule=other)


def schedules_list() -> list[Schedule]:
    """Every periodic task: the saved rows, then the defaults from settings that have no row yet (by name)."""
    rows = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by("name")
    listed = [_row_schedule(task) for task in rows if not task.name.startswith("celery.")]
    saved = {schedule.name for schedule in listed}
    listed += [_default_schedule(name, entry) for name, entry in sorted(_defaults().items()) if name not in saved]
    return sorted(listed, key=lambda schedule: schedule.name)


def schedule_get(name: str) -> Schedule | None:
    return next((schedule for schedule in schedules_list() if schedule.name == name), None)


def _interval_row(*, every: int, period: str) -> IntervalSchedule:
    found = IntervalSchedule.objects.filter(every=every, period=period).order_by("pk").first()
    return found or IntervalSchedule.objects.create(every=every, period=period)


def schedules_defaults_ensure() -> None:
    """Create the rows of the settings' interval schedules that beat has not created yet (nothing else changes)."""
    existing = set(PeriodicTask.objects.values_list("name", flat=True))
    for name, entry in sorted(_defaults().items()):
        if name in existing or not isinstance(entry["schedule"], int | float):
            continue
        every, period = _interval(entry["schedule"])
        PeriodicTask.objects.create(name=name, task=entry["task"], interval=_interval_row(every=every, period=period),
                                    kwargs=json.dumps(entry.get("kwargs") or {}), args="[]")


def schedule_save(*, name: str, enabled: bool, every: int, period: str, queue: str | None = None,
                  actor=None) -> Schedule:
    """Set a periodic task's interval, whether it runs, and (a brokering task) the queue it routes.

    The form has checked the values (oms/console/network/forms.py); beat notices the change on its next tick.
    With an `actor` a change is recorded as an admin log entry on the periodic task (who, when, old → new),
    listed under the console's schedules.
    """
    with transaction.atomic():
        schedules_defaults_ensure()
        task = PeriodicTask.objects.select_for_update().filter(name=name).first()
        if task is None:
            raise ScheduleError(f"There is no schedule named {name!r}.")
        if task.interval_id is None:
            raise ScheduleError(f"{name} is not an interval schedule: edit it in the admin.")
        before = _row_schedule(task)
        task.interval = _interval_row(every=every, period=period)
        task.enabled = enabled
        if task.task == BROKER_TASK and queue is not None:
            kwargs = json.loads(task.kwargs or "{}")
            kwargs["queue"] = queue
            task.kwargs = json.dumps(kwargs)
        task.save()
        after = _row_schedule(task)
        changes = schedule_changes_text(before, after)
        if actor is not None and changes:
            LogEntry.objects.create(
                user_id=actor.pk, content_type_id=ContentType.objects.get_for_model(PeriodicTask).pk,
                object_id=str(task.pk), object_repr=task.name[:200], action_flag=CHANGE,
                change_message=f"Changed in the console: {changes}",
            )
    return after


def schedule_changes_text(before: Schedule, after: Schedule) -> str:
    parts = []
    if (before.every, before.period) != (after.every, after.period):
        parts.append(f"every {before.every} {before.period} → every {after.every} {after.period}")
    if before.enabled != after.enabled:
        parts.append("enabled → disabled" if before.enabled else "disabled → enabled")
    if before.queue != after.queue:
        parts.append(f"queue {before.queue or '—'} → {after.queue or '—'}")
    return "; ".join(parts)


def schedule_changes(limit: int = 20) -> list[LogEntry]:
    """The latest schedule changes recorded (console or admin), newest first, with their user (one query)."""
    return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(PeriodicTask))
                .select_related("user").order_by("-action_time", "-pk")[:limit])
