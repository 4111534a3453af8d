"""The console's ops pages: dashboard, outbox, feeds, facilities, rejections. Thin: parse, call a service or selector,
render."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from fulfillment.reports import rejections_report, rejections_report_csv
from fulfillment.tracking import parcels_without_scan
from oms.console.access import console_view
from oms.console.ops import selectors
from oms.console.ops.charts import bar_chart
from oms.console.ops.forms import (
    TIME_ZONES,
    FacilitySettingsForm,
    InventoryUploadForm,
    OutboxFilterForm,
    RejectionsForm,
)
from oms.console.ops.signins import sign_in_failures, sign_in_unlock
from oms.feeds.inventory import inventory_feed_import
from oms.models import FeedFile, OutboxMessage
from oms.outbox.messages import outbox_dead_list, outbox_retry
from stores.facility_settings import facility_changes_text, facility_settings_check, facility_settings_update
from stores.models import Facility

PAGE_SIZE = 50
STOPPED_SHOWN = 20


def _page(request, items, size: int = PAGE_SIZE):
    return Paginator(items, size).get_page(request.GET.get("page"))


# --- dashboard -------------------------------------------------------------------------------------


@console_view
def dashboard(request):
    board = selectors.dashboard_read(now=timezone.now(), zone=request.operator_zone)
    chart = bar_chart([(f"{hour:02d}", count) for hour, count in enumerate(board.orders_per_hour)])
    return TemplateResponse(request, "console/ops/dashboard.html", {"board": board, "chart": chart})


# --- outbox ----------------------------------------------------------------------------------------


def _outbox_page(request, *, status: int = 200):
    filters = OutboxFilterForm(request.GET or None)
    query = request.GET.copy()
    query.pop("page", None)
    # The filter form and the pager swap only the list (htmx); a normal request gets the whole page.
    template = "console/ops/outbox.html"
    if request.htmx and request.method == "GET":
        template += "#messages"
    return TemplateResponse(request, template, {
        "counts": selectors.outbox_counts(),
        "stopped": outbox_dead_list(limit=STOPPED_SHOWN),
        "filters": filters,
        "page": _page(request, selectors.outbox_messages(**(filters.filters() if filters.is_bound else {}))),
        "query": query.urlencode(),
    }, status=status)


@console_view
def outbox(request):
    return _outbox_page(request)


@console_view
@require_POST
def outbox_retry_one(request, message_id: int):
    message = get_object_or_404(OutboxMessage, pk=message_id)
    if outbox_retry(message_id=message.pk):
        messages.success(request, f"Message #{message.pk} ({message.kind} → {message.get_destination_display()}) "
                                  "is back in line: pending, due now, attempts from zero.")
        return redirect("console:outbox")
    messages.error(request, f"Message #{message.pk} was not retried: it is no longer stopped "
                            f"(it is {message.get_status_display().lower()} now — someone retried it or it was "
                            "delivered).")
    return _outbox_page(request, status=409)


@console_view
@require_POST
def outbox_retry_all(request):
    count = outbox_retry(all_dead=True)
    if count:
        messages.success(request, f"{count} stopped message{'s are' if count != 1 else ' is'} back in line: "
                                  "pending, due now, attempts from zero.")
        return redirect("console:outbox")
    messages.error(request, "Nothing was retried: no message is stopped any more.")
    return _outbox_page(request, status=409)


# --- feeds -----------------------------------------------------------------------------------------


def _feeds_page(request, form: InventoryUploadForm, *, status: int = 200):
    return TemplateResponse(request, "console/ops/feeds.html", {
        "form": form, "page": _page(request, selectors.feed_files()),
        "exports": selectors.feed_exports(), "pulls": selectors.shop_pulls(),
    }, status=status)


@console_view
def feeds(request):
    return _feeds_page(request, InventoryUploadForm())


@console_view
@require_POST
def feed_upload(request):
    form = InventoryUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _feeds_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    result = inventory_feed_import(upload, name=upload.name, source=FeedFile.Source.UPLOAD, actor=request.user)
    feed = result.feed
    if result.duplicate:
        messages.warning(request, f"{upload.name}: this content was already received as feed #{feed.pk} "
                                  f"({feed.times_received} times now): nothing changed. Its report is below.")
        return redirect("console:feed", feed_id=feed.pk)
    if feed.status == FeedFile.Status.REFUSED:
        form.add_error("file", f"Refused, nothing changed: {feed.error} (recorded as feed #{feed.pk}).")
        messages.error(request, f"{upload.name} was refused as a whole: no stock changed.")
        return _feeds_page(request, form, status=400)
    messages.success(request, f"{upload.name} imported as feed #{feed.pk}: {result.summary()}.")
    return redirect("console:feed", feed_id=feed.pk)


@console_view
def feed(request, feed_id: int):
    feed_file = get_object_or_404(FeedFile.objects.select_related("actor"), pk=feed_id)
    return TemplateResponse(request, "console/ops/feed.html", {
        "feed": feed_file, "page": _page(request, selectors.feed_problems(feed_id=feed_file.pk), size=100),
    })


# --- facilities ------------------------------------------------------------------------------------


@console_view
def facilities(request):
    return TemplateResponse(request, "console/ops/facilities.html", {"page": _page(request, selectors.facilities())})


@console_view
def facility(request, facility_id: int):
    """GET: the settings form. POST: validate and show what would change (the confirmation); POST with `confirm`:
    save. A refused form comes back with its errors next to the fields (400) and nothing saved."""
    facility_row = get_object_or_404(Facility, pk=facility_id)
    context = {"facility": facility_row, "time_zones": TIME_ZONES}
    if request.method != "POST":
        form = FacilitySettingsForm(initial=FacilitySettingsForm.initial_of(facility_row))
        return TemplateResponse(request, "console/ops/facility.html", context | {"form": form})
    form = FacilitySettingsForm(request.POST)
    if form.is_valid():
        try:
            if "confirm" in request.POST:
                changed = facility_settings_update(facility_id=facility_row.pk, changes=form.changes(),
                                                   actor=request.user)
            else:
                changed = facility_settings_check(facility_id=facility_row.pk, changes=form.changes())
        except ValidationError as error:
            form.add_service_errors(error.message_dict)
        else:
            if "confirm" in request.POST:
                messages.success(request, f"{facility_row.code} saved: {facility_changes_text(changed)}."
                                 if changed else f"{facility_row.code}: nothing changed.")
                return redirect(reverse("console:facility", args=[facility_row.pk]))
            if "edit" not in request.POST:
                return TemplateResponse(request, "console/ops/facility.html", context | {
                    "form": form,
                    "confirm": [facility_changes_text({name: change}) for name, change in changed.items()],
                })
            return TemplateResponse(request, "console/ops/facility.html", context | {"form": form})
    messages.error(request, "Nothing was saved: correct the fields marked below.")
    return TemplateResponse(request, "console/ops/facility.html", context | {"form": form}, status=400)


@console_view
def rejections(request):
    """The stores' rejections report (most rejected items, reasons, rejection rate per store) for every store or
    the chosen one, over a period (default the last 30 days); `format=csv` downloads it."""
    today = timezone.localdate()
    form = RejectionsForm({"facility": request.GET.get("facility", ""),
                           "start": request.GET.get("start") or today - timedelta(days=29),
                           "end": request.GET.get("end") or today})
    if not form.is_valid():
        return TemplateResponse(request, "console/ops/rejections.html", {"form": form, "report": None}, status=400)
    facility, start, end = (form.cleaned_data[name] for name in ("facility", "start", "end"))
    report = rejections_report(facility=facility, start=start, end=end)
    if request.GET.get("format") == "csv":
        response = HttpResponse(rejections_report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (f'attachment; filename="rejections-{facility.code if facility else "all"}-'
                                           f'{start}-{end}.csv"')
        return response
    csv_query = urlencode({"facility": facility.code if facility else "", "start": start, "end": end, "format": "csv"})
    return TemplateResponse(request, "console/ops/rejections.html", {"form": form, "report": report,
                                                                     "csv_query": csv_query})


# --- sign-in lockouts ------------------------------------------------------------------------------


def _signins_page(request, *, status: int = 200):
    rows = sign_in_failures(now=timezone.now())
    return TemplateResponse(request, "console/ops/signins.html", {
        "locked": [row for row in rows if row.locked], "others": [row for row in rows if not row.locked],
        "settings_limit": settings.AXES_FAILURE_LIMIT,
    }, status=status)


@console_view
def signins(request):
    return _signins_page(request)


@console_view
@require_POST
def signin_unlock(request, attempt_id: int):
    attempt = sign_in_unlock(attempt_id=attempt_id)
    if attempt is None:
        messages.error(request, "Nothing was unlocked: those failures were already cleared (by a good sign-in, the "
                                "cool-off time or another operator).")
        return _signins_page(request, status=409)
    messages.success(request, f"Unlocked {attempt.username or 'the username'} and {attempt.ip_address}: they can "
                              "sign in again now.")
    return redirect("console:signins")


# --- tracking ---------------------------------------------------------------------------------------------------


@console_view
def tracking(request):
    """Parcels handed to a carrier TRACKING_STALE_HOURS ago or more that no carrier has scanned since: lost at the
    counter, never collected by the driver, or a tracker that never started."""
    hours = settings.TRACKING_STALE_HOURS
    parcels = parcels_without_scan(now=timezone.now(), hours=hours)
    return TemplateResponse(request, "console/ops/tracking.html", {"page": _page(request, parcels), "hours": hours})
