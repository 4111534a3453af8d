"""URLs of the network area: queues, brokering runs and their schedules, routing rules (names used by the nav)."""

from django.urls import path

from oms.console.network import views

urlpatterns = [
    path("queues/", views.queues, name="queues"),
    path("queues/<str:queue>/", views.queue, name="queue"),
    path("queues/<str:queue>/hold/", views.queue_hold, name="queue-hold"),
    path("queues/<str:queue>/hold-csv/", views.queue_hold_csv, name="queue-hold-csv"),
    path("queues/<str:queue>/release/", views.queue_release, name="queue-release"),
    path("queues/<str:queue>/run/", views.queue_run, name="queue-run"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:run_id>/", views.run, name="run"),
    path("runs/schedules/", views.schedules, name="schedules"),
    path("runs/schedules/<str:name>/", views.schedule_edit, name="schedule-edit"),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.rule_new, name="rule-new"),
    path("rules/<int:rule_id>/", views.rule, name="rule"),
]
