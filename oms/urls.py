from django.contrib import admin
from django.urls import include, path

from oms import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("facility/choose/", views.choose_facility, name="choose-facility"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("console/", include("oms.console.urls")),
    path("webhooks/shopify/", include("oms.shop.webhooks")),
    path("webhooks/easypost/", include("fulfillment.views.tracking")),
    path("pickup/alternatives/", include("oms.pickup.views")),
    path("", include("fulfillment.urls")),
]
