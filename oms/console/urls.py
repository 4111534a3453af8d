"""The console's URLs, under /console/ with the namespace "console" (see oms/console/__init__.py)."""

from django.urls import include, path

from oms.console import views

app_name = "console"

urlpatterns = [
    path("zone/", views.zone_choose, name="zone"),
    path("", include("oms.console.ops.urls")),
    path("orders/", include("oms.console.orders.urls")),
    path("", include("oms.console.network.urls")),
]
