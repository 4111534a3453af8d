"""Picking pages: the queue, one job, batches and the printed pick sheet. Thin: parse, call one service, render."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from fulfillment import selectors
from fulfillment.models import HandoverJob, LineProblem, PickJob, PickLine, ShortPickReason
from fulfillment.picking import (
    PickError,
    pick_batch_create,
    pick_batch_scan,
    pick_batch_short,
    pick_batch_tap,
    pick_job_for_scan,
    pick_job_pause,
    pick_job_reassign,
    pick_job_scan,
    pick_job_start,
    pick_line_short,
    pick_line_tap,
)
from fulfillment.rejection import batch_line_reject, line_problems_open_count
from fulfillment.views.common import int_or, partial_or_page, posted_version, render_refusal, store_view
from oms.models import RejectionReason

JOB_TEMPLATE = "fulfillment/pick_job.html"
BATCH_TEMPLATE = "fulfillment/pick_batch.html"



# --- the queue -----------------------------------------------------------------------------------

@require_GET
@store_view
def pick_queue(request):
    tab = request.GET.get("tab", "open")
    if tab not in selectors.PICK_TABS:
        tab = "open"
    only = request.GET.get("only", "")
    if only not in selectors.PICK_FILTERS:
        only = ""
    now = timezone.now()
    rows, counts = selectors.pick_queue(facility=request.facility, tab=tab, now=now, only=only)
    tabs = [(name, label, counts[name]) for name, (label, _) in selectors.PICK_TABS.items()]
    return partial_or_page(request, "fulfillment/pick_queue.html", {
        "section": "pick", "rows": rows, "tab": tab, "tabs": tabs, "overdue": counts["overdue"], "now": now,
        "only": only, "only_label": selectors.PICK_FILTERS[only][0] if only else "",
        "problems": line_problems_open_count(facility_id=request.facility.pk) if request.is_manager else 0,
    }, partial="queue")


@require_POST
@store_view
def pick_queue_scan(request):
    """The queue's scan field: open the earliest-due open job that needs the scanned item."""
    try:
        job = pick_job_for_scan(facility_id=request.facility.pk, actor=request.user, code=request.POST.get("code", ""))
    except PickError as error:
        if request.htmx:
            return render_refusal(request, error)
        messages.error(request, error.message)
        return redirect("fulfillment:pick-queue", request.facility.code)
    url = reverse("fulfillment:pick-job", args=[request.facility.code, job.pk])
    if request.htmx:
        response = HttpResponse()
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- one job -------------------------------------------------------------------------------------

def _job_context(request, job_id: int, *, message: str = "", level: str = "info") -> dict:
    job = selectors.pick_job_detail(facility=request.facility, job_id=job_id)
    lines = selectors.pick_lines_for(jobs=[job])
    picked = [line for line in lines if line.picked_quantity and line.status != PickLine.Status.CANCELED]
    picked_pickup = any(line.order_line.is_pickup for line in picked)
    return {
        "section": "pick",
        "job": job,
        "lines": lines,
        # Anyone may start an open job by scanning its first item, unless a manager gave it to someone else.
        "can_scan": not job.batch_id and (
            job.status == PickJob.Status.IN_PROGRESS
            or (job.status == PickJob.Status.OPEN
                and (job.assigned_to_id in (None, request.user.pk) or request.is_manager))),
        "picked_ship": any(not line.order_line.is_pickup for line in picked),
        "picked_pickup": picked_pickup,
        "pickup_handover": (HandoverJob.objects.filter(order_id=job.order_id, facility=request.facility,
                                                       channel=HandoverJob.Channel.CUSTOMER,
                                                       status=HandoverJob.Status.OPEN).first()
                            if picked_pickup and job.status == PickJob.Status.CLOSED else None),
        "reasons": ShortPickReason.objects.filter(is_active=True),
        "associates": selectors.store_associates(facility=request.facility) if request.is_manager else [],
        "rejection_reasons": RejectionReason.objects.filter(is_active=True) if request.is_manager else [],
        "problem_lines": set(LineProblem.objects.filter(pick_line__pick_job=job, status=LineProblem.Status.OPEN)
                             .values_list("pick_line_id", flat=True)),
        "mine": job.assigned_to_id == request.user.pk,
        "urgency": selectors.urgency(job.due_at, timezone.now()),
        "message": message,
        "level": level,
    }


@require_GET
@store_view
def pick_job_page(request, job_id: int):
    return render(request, JOB_TEMPLATE, _job_context(request, job_id))


def _pick_action(request, action, *, template: str, partial: str, context, redirect_to: str, object_id: int):
    """Run one picking service; answer with the updated job or batch (htmx: its partial) or redirect back.

    A refusal goes where the associate looks: the message area for htmx (with the service's 4xx),
    otherwise the page again with the message.
    """
    try:
        result = action(facility_id=request.facility.pk, actor=request.user,
                        version=posted_version(request))
    except PickError as error:
        if request.htmx:
            return render_refusal(request, error)
        if error.status == 404:
            return render(request, "fulfillment/_message.html", {"message": error.message, "level": "error"},
                          status=404)
        return render(request, template, context(request, object_id, message=error.message, level="error"),
                      status=error.status)
    message = getattr(result, "message", "")
    if request.htmx:
        return render(request, f"{template}#{partial}", context(request, object_id, message=message, level="ok"))
    if message:
        messages.success(request, message)
    return redirect(redirect_to, request.facility.code, object_id)


def job_action(request, job_id: int, action):
    return _pick_action(request, action, template=JOB_TEMPLATE, partial="job", context=_job_context,
                        redirect_to="fulfillment:pick-job", object_id=job_id)


@require_POST
@store_view
def pick_job_start_view(request, job_id: int):
    return job_action(request, job_id, lambda **kw: pick_job_start(job_id=job_id, **kw))


@require_POST
@store_view
def pick_job_pause_view(request, job_id: int):
    return job_action(request, job_id, lambda **kw: pick_job_pause(job_id=job_id, **kw))


@require_POST
@store_view
def pick_job_scan_view(request, job_id: int):
    code = request.POST.get("code", "")
    return job_action(request, job_id, lambda **kw: pick_job_scan(job_id=job_id, code=code, **kw))


@require_POST
@store_view
def pick_line_tap_view(request, job_id: int, line_id: int):
    quantity = int_or(request.POST.get("quantity"), 1)
    return job_action(request, job_id,
                       lambda **kw: pick_line_tap(job_id=job_id, line_id=line_id, quantity=quantity, **kw))


@require_POST
@store_view
def pick_line_short_view(request, job_id: int, line_id: int):
    reason = request.POST.get("reason", "")
    return job_action(request, job_id,
                       lambda **kw: pick_line_short(job_id=job_id, line_id=line_id, reason_code=reason, **kw))


@require_POST
@store_view
def pick_job_reassign_view(request, job_id: int):
    to_user_id = int_or(request.POST.get("assignee"), 0)
    return job_action(request, job_id,
                       lambda **kw: pick_job_reassign(job_id=job_id, to_user_id=to_user_id, **kw))


# --- batches -------------------------------------------------------------------------------------

@store_view
def pick_batch_new(request):
    now = timezone.now()
    error = ""
    if request.method == "POST":
        job_ids = [int_or(value) for value in request.POST.getlist("jobs")]
        picker_ids = [int_or(value) for value in request.POST.getlist("pickers")]
        try:
            batch = pick_batch_create(facility_id=request.facility.pk, actor=request.user, now=now,
                                      job_ids=[pk for pk in job_ids if pk], picker_ids=[pk for pk in picker_ids if pk])
        except PickError as exc:
            error = exc.message
        else:
            return redirect("fulfillment:pick-batch", request.facility.code, batch.pk)
    response = render(request, "fulfillment/pick_batch_new.html", {
        "section": "pick",
        "rows": selectors.open_jobs_for_batching(facility=request.facility, now=now),
        "associates": selectors.store_associates(facility=request.facility),
        "chosen_jobs": {int_or(v) for v in request.POST.getlist("jobs")},
        "chosen_pickers": {int_or(v) for v in request.POST.getlist("pickers")} or {request.user.pk},
        "message": error,
        "level": "error",
    }, status=422 if error else 200)
    return response


def _batch_context(request, batch_id: int, *, message: str = "", level: str = "info") -> dict:
    batch = selectors.batch_detail(facility=request.facility, batch_id=batch_id)
    jobs = list(PickJob.objects.filter(batch=batch).select_related("order").order_by("pk"))
    return {
        "section": "pick",
        "batch": batch,
        "jobs": sorted(jobs, key=lambda job: (len(job.tote), job.tote)),
        "lines": selectors.pick_lines_for(jobs=jobs),
        "reasons": ShortPickReason.objects.filter(is_active=True),
        "rejection_reasons": RejectionReason.objects.filter(is_active=True) if request.is_manager else [],
        "message": message,
        "level": level,
    }


@require_GET
@store_view
def pick_batch_page(request, batch_id: int):
    return render(request, BATCH_TEMPLATE, _batch_context(request, batch_id))


def _batch_action(request, batch_id: int, action):
    return _pick_action(request, action, template=BATCH_TEMPLATE, partial="batch", context=_batch_context,
                        redirect_to="fulfillment:pick-batch", object_id=batch_id)


@require_POST
@store_view
def pick_batch_scan_view(request, batch_id: int):
    code = request.POST.get("code", "")
    return _batch_action(request, batch_id, lambda **kw: pick_batch_scan(batch_id=batch_id, code=code, **kw))


@require_POST
@store_view
def pick_batch_tap_view(request, batch_id: int, line_id: int):
    quantity = int_or(request.POST.get("quantity"), 1)
    return _batch_action(request, batch_id,
                         lambda **kw: pick_batch_tap(batch_id=batch_id, line_id=line_id, quantity=quantity, **kw))


@require_POST
@store_view
def pick_batch_short_view(request, batch_id: int, line_id: int):
    reason = request.POST.get("reason", "")
    return _batch_action(request, batch_id,
                         lambda **kw: pick_batch_short(batch_id=batch_id, line_id=line_id, reason_code=reason, **kw))


@require_POST
@store_view
def pick_batch_reject_view(request, batch_id: int, line_id: int):
    reason = request.POST.get("reason", "")
    quantity = int_or(request.POST.get("quantity"))
    return _batch_action(request, batch_id, lambda **kw: batch_line_reject(
        batch_id=batch_id, pick_line_id=line_id, reason_code=reason, quantity=quantity, **kw))


@require_GET
@store_view
def pick_batch_sheet(request, batch_id: int):
    """The printable pick sheet of a batch: every line in walking order with its tote."""
    from fulfillment.documents import PickSheetData, PickSheetRow, pick_sheet_pdf

    context = _batch_context(request, batch_id)
    batch = context["batch"]
    data = PickSheetData(
        facility_name=request.facility.name,
        facility_country=request.facility.country,
        title=f"Pick batch {batch.pk}",
        pickers=[user.get_full_name() or user.get_username() for user in batch.pickers.all()],
        printed_at=timezone.localtime(timezone.now(), request.facility.tz),
        rows=[PickSheetRow(bin_location=line.bin_location or "", sku=line.product.sku, name=line.product.name,
                           barcode=line.product.barcode, quantity=line.quantity,
                           order_name=line.pick_job.order.name, tote=line.pick_job.tote)
              for line in context["lines"] if line.status != PickLine.Status.CANCELED],
    )
    response = HttpResponse(pick_sheet_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="pick-batch-{batch.pk}.pdf"'
    return response
