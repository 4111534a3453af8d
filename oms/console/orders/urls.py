"""URLs of the orders area (under /console/orders/): the list, the order page and its actions."""

from django.urls import path

from oms.console.orders import views

urlpatterns = [
    path("", views.orders_list, name="orders"),
    path("<int:order_id>/", views.order_detail, name="order"),
    path("<int:order_id>/preview/", views.order_preview, name="order_preview"),
    path("<int:order_id>/approve/", views.order_approve_view, name="order_approve"),
    path("<int:order_id>/cancel/", views.order_cancel_view, name="order_cancel"),
    path("<int:order_id>/lines/cancel/", views.order_lines_cancel_view, name="order_lines_cancel"),
    path("<int:order_id>/requests/create/", views.request_create_view, name="request_create"),
    path("<int:order_id>/requests/<int:request_id>/void/", views.request_void_view, name="request_void"),
    path("<int:order_id>/requests/<int:request_id>/regenerate/", views.request_regenerate_view,
         name="request_regenerate"),
    path("<int:order_id>/requests/<int:request_id>/process/", views.request_process_view, name="request_process"),
    path("<int:order_id>/requests/<int:request_id>/retry/", views.request_retry_view, name="request_retry"),
]
