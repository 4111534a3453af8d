"""Django admin for the store's work: shown for support, changed only through the fulfillment services."""

from django.contrib import admin
from django.db import models

from fulfillment.models import BoxType, HandoverJob, PackJob, Parcel, PickJob, PickLine, Shipment, ShortPickReason
from oms.core.admin import ViewOnlyAdmin, ViewOnlyInline


class PickLineInline(ViewOnlyInline):
    model = PickLine
    fields = ["order_line", "product", "quantity", "picked_quantity", "status", "short_reason"]


class ParcelInline(ViewOnlyInline):
    model = Parcel
    fields = ["status", "box_type", "weight_grams", "tracking_number", "tracking_url", "created_at"]


@admin.register(PickJob)
class PickJobAdmin(ViewOnlyAdmin):
    list_display = ["pk", "order", "facility", "status", "outcome", "assigned_to", "due_at", "created_at"]
    list_filter = ["status", "facility"]
    search_fields = ["order__name"]
    list_select_related = ["order", "facility", "assigned_to"]
    inlines = [PickLineInline]


@admin.register(PackJob)
class PackJobAdmin(ViewOnlyAdmin):
    list_display = ["pk", "order", "facility", "status", "assigned_to", "created_at"]
    list_filter = ["status", "facility"]
    search_fields = ["order__name"]
    list_select_related = ["order", "facility", "assigned_to"]


@admin.register(Shipment)
class ShipmentAdmin(ViewOnlyAdmin):
    list_display = ["pk", "order", "facility", "status", "carrier", "created_at", "shipped_at"]
    list_filter = ["status", "facility", "carrier"]
    search_fields = ["order__name", "parcels__tracking_number"]
    list_select_related = ["order", "facility"]
    inlines = [ParcelInline]


@admin.register(Parcel)
class ParcelAdmin(ViewOnlyAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["pk", "shipment", "status", "box_type", "weight_grams", "tracking_number", "created_at"]
    list_filter = ["status"]
    search_fields = ["tracking_number", "shipment__order__name"]
    list_select_related = ["shipment"]


@admin.register(HandoverJob)
class HandoverJobAdmin(ViewOnlyAdmin):
    list_display = ["pk", "order", "facility", "channel", "status", "cancel_reason", "created_at", "handed_over_at"]
    list_filter = ["status", "channel", "facility"]
    search_fields = ["order__name"]
    list_select_related = ["order", "facility"]


@admin.register(ShortPickReason)
class ShortPickReasonAdmin(admin.ModelAdmin):
    """Setup data: the reasons associates choose from when they cannot pick a line in full."""

    list_display = ["position", "code", "name", "is_active"]
    list_display_links = ["code"]
    list_editable = ["position", "is_active"]
    search_fields = ["code", "name"]


@admin.register(BoxType)
class BoxTypeAdmin(admin.ModelAdmin):
    """Setup data: the boxes stores pack into (size for the carrier, own weight for the parcel)."""

    list_display = ["position", "code", "name", "length_mm", "width_mm", "height_mm", "tare_weight_grams",
                    "max_weight_grams", "is_active"]
    list_display_links = ["code"]
    list_editable = ["position", "is_active"]
    search_fields = ["code", "name"]
