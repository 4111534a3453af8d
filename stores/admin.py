"""Django admin for facilities and who works there; stock is shown here but changed only by stores.stock."""

from django.contrib import admin

from stores.models import Facility, InventoryAdjustment, StockLevel, StoreMembership


class StoreMembershipInline(admin.TabularInline):
    model = StoreMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = [
        "code", "name", "kind", "city", "country", "is_active", "sells_online", "offers_pickup",
        "offers_ship_from_store", "daily_capacity",
    ]
    list_filter = ["kind", "is_active", "sells_online", "offers_pickup", "offers_ship_from_store", "country"]
    search_fields = ["code", "name", "city", "postal_code"]
    inlines = [StoreMembershipInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        ("Address", {"fields": ["address1", "city", "postal_code", "country", "latitude", "longitude", "phone",
                                "email"]}),
        ("Hours", {"fields": ["time_zone", "opening_hours"]}),
        ("Services", {"fields": ["sells_online", "offers_ship_from_store", "offers_pickup", "fulfilled_by_wms",
                                 "daily_capacity", "priority"]}),
        ("Store settings", {"fields": [
            "allow_partial_rejection", "pickup_service_hours", "pickup_reminder_hours", "pickup_expiry_days",
            "pickup_proof_required", "reroute_after_hours", "reroute_warning_minutes", "processing_mode",
        ]}),
    ]


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    """Safety stock and bin may be set here; on hand and reserved move only with a ledger entry."""

    list_display = ["facility", "product", "bin_location", "on_hand", "reserved", "safety_stock", "available",
                    "last_counted_at"]
    list_filter = ["facility"]
    search_fields = ["product__sku", "product__barcode", "product__name", "bin_location", "facility__code"]
    list_select_related = ["facility", "product"]
    fields = ["facility", "product", "bin_location", "safety_stock", "on_hand", "reserved", "last_counted_at",
              "updated_at"]
    readonly_fields = ["facility", "product", "on_hand", "reserved", "last_counted_at", "updated_at"]

    def has_add_permission(self, request):
        # Levels are created by stores.stock with their first ledger entry.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InventoryAdjustment)
class InventoryAdjustmentAdmin(admin.ModelAdmin):
    """The stock ledger: append-only, written by stores.stock."""

    list_display = ["created_at", "stock_level", "reason", "on_hand_delta", "reserved_delta", "note", "source",
                    "actor"]
    list_filter = ["reason"]
    search_fields = ["stock_level__product__sku", "stock_level__facility__code", "source", "note"]
    list_select_related = ["stock_level__facility", "actor"]

    # View-only like oms.admin.ViewOnlyAdmin; stores must not import oms, so the three lines stand here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
