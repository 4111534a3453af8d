"""Carrier handover pages: the waiting list per carrier, scans, "hand over all" and the manifest PDF.

Thin: parse, call one fulfillment.handover service, render. An htmx scan gets the list back (and the
message area refreshed out of band); a plain form post is redirected back to the page.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from fulfillment import handover
from fulfillment.handover import HandoverError
from fulfillment.views.common import render_refusal, store_view

TEMPLATE = "fulfillment/handover_queue.html"


def _context(request, *, message: str = "", level: str = "ok") -> dict:
    groups = handover.handover_list(facility=request.facility, now=timezone.now())
    return {"section": "handover", "groups": groups, "waiting": sum(len(group.parcels) for group in groups),
            "message": message, "level": level}


@require_GET
@store_view
def handover_queue(request):
    return render(request, f"{TEMPLATE}#handover-area" if request.htmx else TEMPLATE, _context(request))


def _action(request, action):
    try:
        result = action(facility=request.facility, actor=request.user)
    except HandoverError as error:
        if request.htmx:
            return render_refusal(request, error)
        return render(request, TEMPLATE, _context(request, message=error.message, level="error"),
                      status=error.status)
    if request.htmx:
        return render(request, f"{TEMPLATE}#handover-area", _context(request, message=result.message))
    messages.success(request, result.message)
    return redirect("fulfillment:handover-queue", request.facility.code)


@require_POST
@store_view
def handover_scan_view(request):
    number = request.POST.get("tracking_number", "")
    return _action(request, lambda **kw: handover.handover_scan(tracking_number=number, **kw))


@require_POST
@store_view
def handover_all_view(request, carrier: str):
    return _action(request, lambda **kw: handover.handover_all(carrier=carrier, **kw))


@require_POST
@store_view
def scan_form_view(request, carrier: str):
    """End of day: the carrier's scan form of today's parcels (then the manifest prints it)."""
    return _action(request, lambda **kw: handover.carrier_scan_form_create(carrier=carrier, **kw))


@require_GET
@store_view
def manifest_pdf_view(request, carrier: str):
    pdf = handover.carrier_manifest_pdf(facility=request.facility, carrier=carrier, now=timezone.now())
    response = HttpResponse(pdf, content_type="application/pdf")
    day = timezone.localtime(timezone.now(), request.facility.tz).date().isoformat()
    response["Content-Disposition"] = f'inline; filename="manifest-{carrier}-{day}.pdf"'
    return response


urlpatterns = [
    path("handover/", handover_queue, name="handover-queue"),
    path("handover/scan/", handover_scan_view, name="handover-scan"),
    path("handover/<slug:carrier>/all/", handover_all_view, name="handover-all"),
    path("handover/<slug:carrier>/manifest.pdf", manifest_pdf_view, name="handover-manifest"),
    path("handover/<slug:carrier>/scan-form/", scan_form_view, name="handover-scan-form"),
]
