"""Packing pages: the pack queue, one pack job (parcels, boxes, labels, close) and its PDFs.

Thin: parse, call one fulfillment.packing service, render. An htmx action gets the pack area back
(with what happened in it); a plain form post is redirected back to the page.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from fulfillment import labels, packing
from fulfillment.errors import StoreRefusal
from fulfillment.models import Parcel, Shipment
from fulfillment.packing import PackError, StalePackJob
from fulfillment.views.common import int_or, posted_version, render_refusal, store_view

QUEUE_TEMPLATE = "fulfillment/pack_queue.html"
JOB_TEMPLATE = "fulfillment/pack_job.html"



@require_GET
@store_view
def pack_queue(request):
    jobs = packing.pack_queue(facility_id=request.facility.pk)
    context = {"section": "pack", "jobs": jobs}
    return render(request, f"{QUEUE_TEMPLATE}#queue" if request.htmx else QUEUE_TEMPLATE, context)


def _job_context(request, pack_job_id: int, *, message: str = "", level: str = "ok") -> dict:
    job = packing.pack_job_detail(facility_id=request.facility.pk, pack_job_id=pack_job_id)
    if job is None:
        raise Http404("No such pack job")
    for parcel in job.parcel_list:
        # The label can be created with the box at once when every item's weight is on file; otherwise the
        # associate weighs the parcel and types the weight first.
        parcel.weight_known = all(item.order_line.product_id and item.order_line.product.weight_grams
                                  for item in parcel.item_list)
    return {
        "section": "pack", "job": job, "parcels": job.parcel_list, "boxes": packing.box_types_active(),
        "all_labelled": all(parcel.status != Parcel.Status.OPEN or not parcel.item_list for parcel in job.parcel_list),
        "open_parcels": [parcel for parcel in job.parcel_list if parcel.status == Parcel.Status.OPEN],
        "message": message, "level": level,
    }


@require_GET
@store_view
def pack_job_page(request, pack_job_id: int):
    return render(request, JOB_TEMPLATE, _job_context(request, pack_job_id, message=""))


def _job_action(request, pack_job_id: int, action, success: str):
    """Run one packing service and answer with the updated pack area (htmx) or a redirect back to the page."""
    try:
        action(pack_job_id=pack_job_id, facility_id=request.facility.pk, actor=request.user,
               version=posted_version(request))
    except StoreRefusal as error:  # a PackError, or a PrinterError from a print
        if error.status == 404:
            raise Http404(error.message) from error
        if isinstance(error, StalePackJob):
            return _stale(request, pack_job_id, error)
        if request.htmx:
            return render_refusal(request, error)
        context = _job_context(request, pack_job_id, message=error.message, level="error")
        return render(request, JOB_TEMPLATE, context, status=error.status)
    if request.htmx:
        return render(request, f"{JOB_TEMPLATE}#pack-area", _job_context(request, pack_job_id, message=success))
    messages.success(request, success)
    return redirect("fulfillment:pack-job", request.facility.code, pack_job_id)


def _stale(request, pack_job_id: int, error: StalePackJob):
    """The refusal with a reload button: the associate must see what the other person changed first."""
    reload_url = reverse("fulfillment:pack-job", args=[request.facility.code, pack_job_id])
    response = render(request, "fulfillment/pack_stale.html",
                      {"message": error.message, "level": "error", "reload_url": reload_url}, status=error.status)
    if request.htmx:
        response["HX-Retarget"] = "#store-message"
        response["HX-Reswap"] = "innerHTML"
    return response


@require_POST
@store_view
def pack_job_start_view(request, pack_job_id: int):
    return _job_action(request, pack_job_id, packing.pack_job_start, "Packing started.")


@require_POST
@store_view
def pack_job_close_view(request, pack_job_id: int):
    return _job_action(request, pack_job_id, packing.pack_job_close,
                       "Pack job closed.")


@require_POST
@store_view
def parcel_add_view(request, pack_job_id: int):
    return _job_action(request, pack_job_id, packing.parcel_add, "Parcel added: move items into it.")


@require_POST
@store_view
def parcel_remove_view(request, pack_job_id: int, parcel_id: int):
    return _job_action(request, pack_job_id, lambda **kw: packing.parcel_remove(parcel_id=parcel_id, **kw),
                       "Empty parcel removed.")


@require_POST
@store_view
def parcel_item_move_view(request, pack_job_id: int, parcel_id: int):
    to = request.POST.get("to", "new")
    to_parcel_id = None if to == "new" else int_or(to, 0)
    quantity = int_or(request.POST.get("quantity"), 0)
    line_id = int_or(request.POST.get("line"), 0)
    return _job_action(request, pack_job_id, lambda **kw: packing.parcel_item_move(
        order_line_id=line_id, from_parcel_id=parcel_id, to_parcel_id=to_parcel_id, quantity=quantity, **kw,
    ), f"Moved {quantity} unit{'s' if quantity != 1 else ''}.")


@require_POST
@store_view
def parcel_set_box_view(request, pack_job_id: int, parcel_id: int):
    weight_text = request.POST.get("weight", "").strip().replace(",", "")
    weight = int_or(weight_text, 0) if weight_text else None
    box_id = int_or(request.POST.get("box"), 0)
    return _job_action(request, pack_job_id, lambda **kw: packing.parcel_set_box(
        parcel_id=parcel_id, box_type_id=box_id, weight_grams=weight, **kw,
    ), "Box and weight saved.")


@require_POST
@store_view
def parcel_box_label_view(request, pack_job_id: int, parcel_id: int):
    """Choose the box and create the label in one tap (labels.parcel_box_and_label)."""
    weight_text = request.POST.get("weight", "").strip().replace(",", "")
    weight = int_or(weight_text, 0) if weight_text else None
    box_id = int_or(request.POST.get("box"), 0)

    def box_and_label(**kw):
        if weight is None and request.POST.get("weight_known") != "1":
            raise PackError("Weigh the parcel and type its weight: some items have no weight on file.")
        labels.parcel_box_and_label(parcel_id=parcel_id, box_type_id=box_id, weight_grams=weight, **kw)
    return _job_action(request, pack_job_id, box_and_label, "Label created: print it and stick it on the parcel.")


@require_GET
@store_view
def parcel_rates_view(request, pack_job_id: int, parcel_id: int):
    """The carrier's rates for the parcel in the box (and weight) on the form, to choose one (htmx partial)."""
    weight_text = request.GET.get("weight", "").strip().replace(",", "")
    try:
        rates = labels.parcel_rates(pack_job_id=pack_job_id, facility_id=request.facility.pk, parcel_id=parcel_id,
                                    box_type_id=int_or(request.GET.get("box"), 0) or None,
                                    weight_grams=int_or(weight_text, 0) or None)
    except PackError as error:
        if error.status == 404:
            raise Http404(error.message) from error
        return render_refusal(request, error)
    job = packing.pack_job_detail(facility_id=request.facility.pk, pack_job_id=pack_job_id)
    return render(request, "fulfillment/_rates.html", {"rates": rates, "job": job, "code": request.facility.code})


@require_POST
@store_view
def shipment_service_view(request, pack_job_id: int):
    service = request.POST.get("service", "").strip()[:60]
    return _job_action(request, pack_job_id, lambda **kw: labels.shipment_choose_service(service=service, **kw),
                       f"Rate {service} chosen: create the label.")


@require_POST
@store_view
def parcel_label_view(request, pack_job_id: int, parcel_id: int):
    return _job_action(request, pack_job_id, lambda **kw: labels.parcel_create_label(parcel_id=parcel_id, **kw),
                       "Label created: print it and stick it on the parcel.")


@require_POST
@store_view
def parcel_void_view(request, pack_job_id: int, parcel_id: int):
    return _job_action(request, pack_job_id, lambda **kw: labels.parcel_void_label(parcel_id=parcel_id, **kw),
                       "Label voided: remove it from the parcel.")


@require_POST
@store_view
def parcel_relabel_view(request, pack_job_id: int, parcel_id: int):
    return _job_action(request, pack_job_id, lambda **kw: labels.parcel_relabel(parcel_id=parcel_id, **kw),
                       "Old label voided and a new one created: print it and replace the old one.")


@require_POST
@store_view
def return_label_view(request, pack_job_id: int):
    return _job_action(request, pack_job_id, labels.shipment_issue_return_label,
                       "Return label created: print it and put it in the parcel.")


# --- PDFs ----------------------------------------------------------------------------------------

def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _shipment(request, pack_job_id: int) -> Shipment:
    shipment = Shipment.objects.filter(pack_job__pk=pack_job_id, facility=request.facility).first()
    if shipment is None:
        raise Http404("No such pack job")
    return shipment


@require_GET
@store_view
def parcel_label_pdf_view(request, pack_job_id: int, parcel_id: int):
    parcel = Parcel.objects.filter(pk=parcel_id, shipment=_shipment(request, pack_job_id)).first()
    if parcel is None:
        raise Http404("No such parcel")
    try:
        return _pdf(labels.parcel_label_pdf(parcel=parcel), f"label-{parcel.tracking_number}.pdf")
    except PackError as error:
        raise Http404(error.message) from error


@require_GET
@store_view
def parcel_label_zpl_view(request, pack_job_id: int, parcel_id: int):
    """The label for a thermal printer, as a .zpl file (a printer's driver or a print server prints it as is)."""
    parcel = Parcel.objects.filter(pk=parcel_id, shipment=_shipment(request, pack_job_id)).first()
    if parcel is None:
        raise Http404("No such parcel")
    try:
        content = labels.parcel_label_zpl(parcel=parcel)
    except PackError as error:
        raise Http404(error.message) from error
    response = HttpResponse(content, content_type="application/zpl")
    response["Content-Disposition"] = f'attachment; filename="label-{parcel.tracking_number}.zpl"'
    return response


@require_POST
@store_view
def parcel_print_view(request, pack_job_id: int, parcel_id: int):
    """Send the label to the packing station's network printer; when it cannot, say so (the label stays
    downloadable)."""
    return _job_action(request, pack_job_id,
                       lambda pack_job_id, facility_id, **_: labels.parcel_label_print(
                           pack_job_id=pack_job_id, facility_id=facility_id, parcel_id=parcel_id),
                       "Label sent to the printer.")


@require_GET
@store_view
def packing_slip_pdf_view(request, pack_job_id: int):
    shipment = _shipment(request, pack_job_id)
    return _pdf(labels.shipment_packing_slip_pdf(shipment=shipment), f"packing-slip-{shipment.pk}.pdf")


@require_GET
@store_view
def return_label_pdf_view(request, pack_job_id: int):
    shipment = _shipment(request, pack_job_id)
    try:
        return _pdf(labels.shipment_return_label_pdf(shipment=shipment),
                    f"return-label-{shipment.return_tracking_number}.pdf")
    except PackError as error:
        raise Http404(error.message) from error


job = "packs/<int:pack_job_id>/"
parcel = f"{job}parcels/<int:parcel_id>/"
urlpatterns = [
    path("packs/", pack_queue, name="pack-queue"),
    path(job, pack_job_page, name="pack-job"),
    path(f"{job}start/", pack_job_start_view, name="pack-job-start"),
    path(f"{job}close/", pack_job_close_view, name="pack-job-close"),
    path(f"{job}parcels/add/", parcel_add_view, name="pack-parcel-add"),
    path(f"{parcel}remove/", parcel_remove_view, name="pack-parcel-remove"),
    path(f"{parcel}move/", parcel_item_move_view, name="pack-item-move"),
    path(f"{parcel}box/", parcel_set_box_view, name="pack-parcel-box"),
    path(f"{parcel}label/", parcel_label_view, name="pack-parcel-label"),
    path(f"{parcel}box-label/", parcel_box_label_view, name="pack-parcel-box-label"),
    path(f"{parcel}void/", parcel_void_view, name="pack-parcel-void"),
    path(f"{parcel}rates/", parcel_rates_view, name="pack-parcel-rates"),
    path(f"{job}service/", shipment_service_view, name="pack-shipment-service"),
    path(f"{parcel}label.zpl", parcel_label_zpl_view, name="pack-parcel-label-zpl"),
    path(f"{parcel}print/", parcel_print_view, name="pack-parcel-print"),
    path(f"{parcel}relabel/", parcel_relabel_view, name="pack-parcel-relabel"),
    path(f"{parcel}label.pdf", parcel_label_pdf_view, name="pack-parcel-label-pdf"),
    path(f"{job}slip.pdf", packing_slip_pdf_view, name="pack-slip-pdf"),
    path(f"{job}return-label/", return_label_view, name="pack-return-label"),
    path(f"{job}return-label.pdf", return_label_pdf_view, name="pack-return-label-pdf"),
]
