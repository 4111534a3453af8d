"""Beat's scheduler: django-celery-beat's database schedules, seeded from CELERY_BEAT_SCHEDULE only once.

django-celery-beat's DatabaseScheduler writes every CELERY_BEAT_SCHEDULE entry over its row each time beat
starts, which would undo what operations staff changed in the console (interval, queue). This one creates the
rows that do not exist yet and leaves the others as they were edited.
"""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


class DefaultsOnceScheduler(DatabaseScheduler):
    def setup_schedule(self):
        self.install_default_entries(self.schedule)
        existing = set(PeriodicTask.objects.values_list("name", flat=True))
        self.update_from_dict({name: entry for name, entry in self.app.conf.beat_schedule.items()
                               if name not in existing})
