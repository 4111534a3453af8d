"""Celery task names are pinned (`name=`), so moving a module renames no task, and every schedule names a real task.

A schedule whose task name the worker does not know is silently never run: the beat entry keeps firing into
"unregistered task" errors. Names are what beat's rows and queued messages hold, so they must outlive a move.
"""

import inspect

import pytest
from celery import Task
from django_celery_beat.models import PeriodicTask

from fulfillment import tasks as fulfillment_tasks
from oms import tasks as oms_tasks
from oms.beat import DefaultsOnceScheduler
from oms.celery import app


def project_tasks() -> list[Task]:
    return [task for module in (oms_tasks, fulfillment_tasks)
            for _, task in inspect.getmembers(module, lambda member: isinstance(member, Task))]


def test_every_task_is_named_after_its_module_and_function_explicitly():
    for task in project_tasks():
        source = inspect.getsource(task.run)
        assert f'name="{task.name}"' in source, f"{task.name}: pin the name with @shared_task(name=...)"
        assert task.name == f"{task.run.__module__}.{task.run.__name__}"


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    registered = set(app.tasks)
    missing = {name: entry["task"] for name, entry in app.conf.beat_schedule.items() if entry["task"] not in registered}
    assert not missing


@pytest.mark.django_db(transaction=True)
def test_every_periodic_task_row_names_a_registered_task():
    DefaultsOnceScheduler(app=app, lazy=True).setup_schedule()
    app.loader.import_default_modules()
    registered = set(app.tasks)
    rows = dict(PeriodicTask.objects.exclude(task__startswith="celery.").values_list("name", "task"))
    assert rows, "beat seeded no schedule"
    assert {name: task for name, task in rows.items() if task not in registered} == {}
