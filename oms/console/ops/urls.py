"""URLs of this console area: the names below are used by the console's navigation (keep them)."""

from django.template.response import TemplateResponse
from django.urls import path

from oms.console.access import console_view


@console_view
def unbuilt(request, heading: str, **kwargs):
    return TemplateResponse(request, "console/unbuilt.html", {"heading": heading})


urlpatterns = [
    path("", unbuilt, {"heading": "Dashboard"}, name="dashboard"),
    path("outbox/", unbuilt, {"heading": "Outbox"}, name="outbox"),
    path("feeds/", unbuilt, {"heading": "Feeds"}, name="feeds"),
    path("facilities/", unbuilt, {"heading": "Facilities"}, name="facilities"),
    path("facilities/<int:facility_id>/", unbuilt, {"heading": "Facility"}, name="facility"),
]
