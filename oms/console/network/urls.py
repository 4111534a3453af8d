"""URLs of this console area: the names below are used by the console's navigation (keep them)."""

from django.template.response import TemplateResponse
from django.urls import path

from oms.console.access import console_view


@console_view
def unbuilt(request, heading: str, **kwargs):
    return TemplateResponse(request, "console/unbuilt.html", {"heading": heading})


urlpatterns = [
    path("queues/", unbuilt, {"heading": "Queues"}, name="queues"),
    path("queues/<str:queue>/", unbuilt, {"heading": "Queue"}, name="queue"),
    path("runs/", unbuilt, {"heading": "Brokering runs"}, name="runs"),
    path("runs/<int:run_id>/", unbuilt, {"heading": "Brokering run"}, name="run"),
    path("runs/schedules/", unbuilt, {"heading": "Run schedules"}, name="schedules"),
    path("rules/", unbuilt, {"heading": "Routing rules"}, name="rules"),
    path("rules/<int:rule_id>/", unbuilt, {"heading": "Routing rule"}, name="rule"),
]
