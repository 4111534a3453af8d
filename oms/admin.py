"""Django admin for the order-management app: products to set up, orders and their history to look at."""

import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.template import engines
from django.template.response import TemplateResponse

from oms.core.admin import ViewOnlyAdmin, ViewOnlyInline
from oms.models import (
    BrokeringRun,
    FeedFile,
    FeedProblem,
    FulfillmentRequest,
    LineRejection,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    RejectionReason,
    RoutingRule,
    ShopPull,
    TransitionLog,
)
from oms.orders.approval import ApprovalError, order_approve
from oms.orders.cancel import order_cancel
from oms.routing.rule_form import RoutingRuleForm
from stores.access import is_operations


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["sku", "barcode", "name", "weight_grams"]
    search_fields = ["sku", "barcode", "name"]


class OrderLineInline(ViewOnlyInline):
    model = OrderLine
    fields = [
        "external_line_id", "sku", "title", "quantity", "status", "kind", "promise_date", "queue",
        "pickup_store_code", "pickup_facility", "allocated_facility", "fulfillment_request", "cancel_reason",
    ]


class ManualApprovalForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why these orders may go on although their approval checks fail (shown on the timeline).",
    )


# Kept here rather than in templates/ so the admin of this app is one file.
MANUAL_APPROVAL_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block content %}
<p>Approve these orders although their approval checks may fail. Orders with an unknown product or
pickup store cannot be fulfilled and will not be approved.</p>
<ul>{% for order in orders %}
  <li><strong>{{ order.name }}</strong> ({{ order.status }}){% if order.approval_blockers %}:
    {% for blocker in order.approval_blockers %}{{ blocker.message }} {% endfor %}{% endif %}</li>
{% endfor %}</ul>
<form method="post">{% csrf_token %}
  {{ form.as_p }}
  {% for order in orders %}<input type="hidden" name="{{ checkbox_name }}" value="{{ order.pk }}">{% endfor %}
  <input type="hidden" name="action" value="approve_manually">
  <input type="submit" name="apply" value="Approve {{ orders|length }} order(s)">
  <a href="" class="button cancel-link">Cancel</a>
</form>
{% endblock %}"""


@functools.cache
def _manual_approval_template():
    return engines["django"].from_string(MANUAL_APPROVAL_TEMPLATE)


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=200, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why the orders are canceled (shown on the timeline and sent to the shop).",
    )


CANCEL_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block content %}
<p>Cancel these orders. Lines already fulfilled stay; everything not yet handed over is canceled, picked
items become put-back tasks in their stores, and the shop is told.</p>
<ul>{% for order in orders %}<li><strong>{{ order.name }}</strong> ({{ order.status }})</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}
  {{ form.as_p }}
  {% for order in orders %}<input type="hidden" name="{{ checkbox_name }}" value="{{ order.pk }}">{% endfor %}
  <input type="hidden" name="action" value="cancel_orders">
  <input type="submit" name="apply" value="Cancel {{ orders|length }} order(s)">
  <a href="" class="button cancel-link">Back</a>
</form>
{% endblock %}"""


@functools.cache
def _cancel_template():
    return engines["django"].from_string(CANCEL_TEMPLATE)


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin):
    """Orders are read here; the shop owns their fields (orders/updated overwrites them), services their state."""

    list_display = ["name", "external_id", "customer_name", "channel", "status", "payment_status", "ordered_at",
                    "approved_at"]
    list_filter = ["status", "channel"]
    search_fields = ["name", "email", "external_id"]
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline]
    actions = ["approve_manually", "cancel_orders"]
    fieldsets = [
        (None, {"fields": ["name", "external_id", "channel", "status", "payment_status", "tags", "total_price",
                           "currency"]}),
        ("Customer", {"fields": ["customer_name", "email", "phone", "shipping_address", "billing_address"]}),
        ("Checks", {"fields": ["problems", "approval_blockers", "pending_changes"]}),
        ("Times", {"fields": ["ordered_at", "received_at", "shop_updated_at", "approved_at"]}),
        ("From the shop", {"classes": ["collapse"], "fields": ["raw"]}),
    ]

    def has_approve_permission(self, request) -> bool:
        return is_operations(request.user)

    def has_cancel_permission(self, request) -> bool:
        return is_operations(request.user)

    @admin.action(description="Cancel selected orders (with a reason)", permissions=["cancel"])
    def cancel_orders(self, request, queryset):
        form = CancelForm(request.POST if "apply" in request.POST else None)
        orders = list(queryset.order_by("pk"))
        if not form.is_valid():
            context = {**self.admin_site.each_context(request), "title": "Cancel orders", "opts": self.model._meta,
                       "orders": orders, "form": form, "checkbox_name": helpers.ACTION_CHECKBOX_NAME}
            return TemplateResponse(request, _cancel_template(), context)
        for order in orders:
            order_cancel(order_id=order.pk, actor=request.user, reason=form.cleaned_data["reason"])
        self.message_user(request, f"Canceled what was still open of {len(orders)} order(s).", messages.SUCCESS)
        return None

    @admin.action(description="Approve selected orders (manual)", permissions=["approve"])
    def approve_manually(self, request, queryset):
        form = ManualApprovalForm(request.POST if "apply" in request.POST else None)
        orders = list(queryset.order_by("pk"))
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Approve orders manually",
                "opts": self.model._meta,
                "orders": orders,
                "form": form,
                "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, _manual_approval_template(), context)

        approved = 0
        for order in orders:
            try:
                order_approve(order_id=order.pk, actor=request.user, reason=form.cleaned_data["reason"], manual=True)
            except ApprovalError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                approved += 1
        failed = len(orders) - approved
        level = messages.SUCCESS if not failed else messages.WARNING
        self.message_user(request, f"Approved {approved} order(s), {failed} failed.", level)
        return None  # back to the change list


@admin.register(FulfillmentRequest)
class FulfillmentRequestAdmin(ViewOnlyAdmin):
    list_display = ["number", "order", "facility", "status", "created_at"]
    list_filter = ["status", "facility"]
    search_fields = ["number", "order__name"]
    list_select_related = ["order", "facility"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ViewOnlyAdmin):
    list_display = ["kind", "destination", "order", "status", "attempts", "due_at", "delivered_at"]
    list_filter = ["status", "destination", "kind"]
    search_fields = ["idempotency_key", "order__name"]
    list_select_related = ["order"]


@admin.register(TransitionLog)
class TransitionLogAdmin(ViewOnlyAdmin):
    list_display = ["at", "object_type", "object_id", "order", "transition", "source_state", "target_state",
                    "actor", "reason"]
    list_filter = ["object_type", "transition"]
    search_fields = ["order__name", "reason"]
    list_select_related = ["order", "actor"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Operations staff edit the rules here (the console's editor with a preview comes later)."""

    form = RoutingRuleForm
    list_display = ["position", "name", "is_active", "delivery", "queues", "sort_by", "max_facilities",
                    "unfilled_action"]
    list_display_links = ["name"]
    list_filter = ["is_active", "delivery", "unfilled_action"]
    search_fields = ["name"]
    ordering = ["position"]


@admin.register(BrokeringRun)
class BrokeringRunAdmin(ViewOnlyAdmin):
    list_display = ["pk", "queue", "status", "trigger", "started_at", "finished_at", "orders_considered",
                    "lines_considered", "lines_allocated", "lines_parked"]
    list_filter = ["queue", "status", "trigger"]
    search_fields = ["queue"]


@admin.register(ShopPull)
class ShopPullAdmin(ViewOnlyAdmin):
    """The safety-net pulls of orders from Shopify: when, which window, what each found."""

    list_display = ["pk", "status", "started_at", "since", "until", "found", "created", "updated", "error"]
    list_filter = ["status"]


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    """Setup data: why store managers reject items, and what each reason does to the store's stock."""

    list_display = ["position", "code", "name", "effect", "is_active"]
    list_display_links = ["code"]
    list_editable = ["position", "is_active"]
    search_fields = ["code", "name"]


@admin.register(LineRejection)
class LineRejectionAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "facility", "order", "product", "quantity", "reason_text", "actor"]
    list_filter = ["facility", "reason"]
    search_fields = ["order__name", "product__sku", "reason_text"]
    list_select_related = ["facility", "order", "product", "actor"]


class FirstProblemsFormSet(forms.BaseInlineFormSet):
    """Only the first rejected rows: a 100,000-row file may have as many problems."""

    shown = 200

    def get_queryset(self):
        return super().get_queryset()[: self.shown]


class FeedProblemInline(ViewOnlyInline):
    model = FeedProblem
    formset = FirstProblemsFormSet
    fields = ["line", "reason", "raw"]
    verbose_name_plural = f"rejected rows (the first {FirstProblemsFormSet.shown})"


@admin.register(FeedFile)
class FeedFileAdmin(ViewOnlyAdmin):
    """Feed files and their reports; imports run through oms.feeds (the command, the drop folder, uploads)."""

    list_display = ["pk", "received_at", "kind", "name", "source", "status", "rows_total", "rows_applied",
                    "rows_unchanged", "rows_stale", "rows_rejected", "times_received"]
    list_filter = ["kind", "status", "source"]
    search_fields = ["name", "sha256"]
    list_select_related = ["actor"]
    readonly_fields = ["kind", "name", "source", "sha256", "stored_path", "size", "actor", "received_at",
                       "times_received", "finished_at", "status", "error", "rows_total", "rows_applied",
                       "rows_unchanged", "rows_stale", "rows_rejected", "lines_done", "heartbeat_at"]
    fields = readonly_fields
    inlines = [FeedProblemInline]
