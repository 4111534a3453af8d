"""URLs of the ops area (dashboard, outbox, feeds, facilities): the first five names are used by the navigation."""

from django.urls import path

from oms.console.ops import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("outbox/", views.outbox, name="outbox"),
    path("feeds/", views.feeds, name="feeds"),
    path("facilities/", views.facilities, name="facilities"),
    path("facilities/<int:facility_id>/", views.facility, name="facility"),
    path("outbox/<int:message_id>/retry/", views.outbox_retry_one, name="outbox_retry"),
    path("outbox/retry-all/", views.outbox_retry_all, name="outbox_retry_all"),
    path("feeds/upload/", views.feed_upload, name="feed_upload"),
    path("feeds/<int:feed_id>/", views.feed, name="feed"),
    path("rejections/", views.rejections, name="rejections"),
    path("tracking/", views.tracking, name="tracking"),
    path("sign-ins/", views.signins, name="signins"),
    path("sign-ins/<int:attempt_id>/unlock/", views.signin_unlock, name="signin_unlock"),
]
