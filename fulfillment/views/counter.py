"""Counter and put-back pages: find a ready pickup, hand it over, and put refused or uncollected items back.

Thin: parse, call one fulfillment.counter or fulfillment.putback service, render. htmx requests get
partials and refusals in #store-message (4xx); plain form posts are redirected back to the page.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from fulfillment import counter
from fulfillment.counter import CounterError
from fulfillment.errors import StoreRefusal
from fulfillment.pickup import PickupError, pickup_resend, pickup_shelf_set
from fulfillment.putback import PutBackError, put_back_confirm, put_backs_open
from fulfillment.scans import scanned
from fulfillment.views.common import int_or, posted_version, render_refusal, store_view

COUNTER_TEMPLATE = "fulfillment/counter_search.html"
PICKUP_TEMPLATE = "fulfillment/counter_pickup.html"
PUT_BACK_TEMPLATE = "fulfillment/putback_list.html"



def _refusal(request, error, *, page: str, context: dict):
    """htmx: the message into #store-message; a plain request: the page with the message, same status."""
    if request.htmx or error.status == 404:
        return render_refusal(request, error)
    return render(request, page, {**context, "message": error.message, "level": "error"}, status=error.status)


# --- the counter ---------------------------------------------------------------------------------

def _counter_context(request, query: str) -> dict:
    pickups = counter.pickup_search(facility=request.facility, query=query)
    return {"section": "counter", "query": query, "pickups": pickups, "limit": counter.SEARCH_LIMIT}


def _pickup_url(request, handover_id: int) -> str:
    return reverse("fulfillment:counter-pickup", args=[request.facility.code, handover_id])


@require_GET
@store_view
def counter_page(request):
    """The ready pickups, searched as the associate types; Enter (or a scanned QR) opens a code's pickup."""
    query = scanned(request.GET.get("q", ""))  # as the search reads it, shown back in the field
    context = _counter_context(request, query)
    if request.GET.get("scan") and counter.looks_like_code(query):
        try:
            handover = counter.pickup_find_by_code(facility=request.facility, code=query)
        except CounterError as error:
            # An unknown code that still matches a customer (a name such as "SMITH") shows the matches.
            if error.status != 404 or not context["pickups"]:
                return _refusal(request, error, page=COUNTER_TEMPLATE, context=context)
        else:
            if request.htmx:
                response = HttpResponse()
                response["HX-Redirect"] = _pickup_url(request, handover.pk)
                return response
            return redirect(_pickup_url(request, handover.pk))
    template = f"{COUNTER_TEMPLATE}#counter-results" if request.htmx else COUNTER_TEMPLATE
    return render(request, template, context)


# --- one pickup ----------------------------------------------------------------------------------

def _pickup_context(request, handover_id: int, *, message: str = "", level: str = "info") -> dict:
    detail = counter.pickup_detail(facility=request.facility, handover_id=handover_id)
    return {"section": "counter", "detail": detail, "handover": detail.handover, "order": detail.handover.order,
            "proof_required": request.facility.pickup_proof_required, "message": message, "level": level,
            "refusal_reasons": REFUSAL_REASONS}



def _pickup_tool(request, handover_id: int, action):
    """Run one pickup service (shelf, resend) and answer with the updated pickup."""
    try:
        message = action()
    except PickupError as error:
        if request.htmx:
            return render_refusal(request, error)
        return _refusal(request, error, page=PICKUP_TEMPLATE, context=_pickup_context(request, handover_id))
    if request.htmx:
        return render(request, f"{PICKUP_TEMPLATE}#pickup",
                      _pickup_context(request, handover_id, message=message, level="ok"))
    messages.success(request, message)
    return redirect("fulfillment:counter-pickup", request.facility.code, handover_id)


@require_POST
@store_view
def counter_shelf(request, handover_id: int):
    def action():
        handover = pickup_shelf_set(handover_id=handover_id, facility_id=request.facility.pk, actor=request.user,
                                    shelf=request.POST.get("shelf", ""))
        return f"Shelf {handover.shelf} recorded." if handover.shelf else "Shelf cleared."
    return _pickup_tool(request, handover_id, action)


@require_POST
@store_view
def counter_resend(request, handover_id: int):
    def action():
        pickup_resend(handover_id=handover_id, facility_id=request.facility.pk, actor=request.user)
        return "The ready-for-pickup email is on its way again."
    return _pickup_tool(request, handover_id, action)

# Suggestions for the refusal reason (the associate may type any other).
REFUSAL_REASONS = ["Damaged", "Wrong item", "Wrong size or colour", "Not as described", "Changed their mind"]


@require_GET
@store_view
def counter_pickup(request, handover_id: int):
    try:
        context = _pickup_context(request, handover_id)
    except CounterError as error:
        return render_refusal(request, error)
    return render(request, PICKUP_TEMPLATE, context)


@require_POST
@store_view
def counter_hand_over(request, handover_id: int):
    refused = {}
    for value in request.POST.getlist("refuse"):
        line_id = int_or(value)
        if line_id is not None:
            refused[line_id] = request.POST.get(f"reason-{line_id}", "")
    proof = {"name": request.POST.get("collected_by", ""), "relation": request.POST.get("collected_relation", ""),
             "id_last4": request.POST.get("collected_id_last4", "")}
    try:
        result = counter.pickup_hand_over(
            handover_id=handover_id, facility_id=request.facility.pk, actor=request.user,
            version=posted_version(request), refused=refused, proof=proof, now=timezone.now(),
        )
    except CounterError as error:
        if error.status == 404:
            return render_refusal(request, StoreRefusal(error.message, status=404))
        return _refusal(request, error, page=PICKUP_TEMPLATE, context=_pickup_context(request, handover_id))
    if request.htmx:
        return render(request, f"{PICKUP_TEMPLATE}#pickup",
                      _pickup_context(request, handover_id, message=result.message, level="ok"))
    messages.success(request, result.message)
    return redirect("fulfillment:counter-pickup", request.facility.code, handover_id)


# --- put back ------------------------------------------------------------------------------------

def _put_back_context(request, *, message: str = "", level: str = "ok") -> dict:
    return {"section": "putback", "tasks": put_backs_open(facility_id=request.facility.pk), "message": message,
            "level": level}


@require_GET
@store_view
def put_back_page(request):
    template = f"{PUT_BACK_TEMPLATE}#put-back-area" if request.htmx else PUT_BACK_TEMPLATE
    return render(request, template, _put_back_context(request))


@require_POST
@store_view
def put_back_confirm_view(request, task_id: int):
    try:
        task = put_back_confirm(task_id=task_id, facility_id=request.facility.pk, actor=request.user,
                                now=timezone.now())
    except PutBackError as error:
        return _refusal(request, error, page=PUT_BACK_TEMPLATE, context=_put_back_context(request))
    message = f"Order {task.order.name}: items back on the shelf."
    if request.htmx:
        return render(request, f"{PUT_BACK_TEMPLATE}#put-back-area", _put_back_context(request, message=message))
    messages.success(request, message)
    return redirect("fulfillment:put-back", request.facility.code)


urlpatterns = [
    path("counter/", counter_page, name="counter"),
    path("counter/<int:handover_id>/", counter_pickup, name="counter-pickup"),
    path("counter/<int:handover_id>/hand-over/", counter_hand_over, name="counter-hand-over"),
    path("counter/<int:handover_id>/shelf/", counter_shelf, name="counter-shelf"),
    path("counter/<int:handover_id>/resend/", counter_resend, name="counter-resend"),
    path("put-back/", put_back_page, name="put-back"),
    path("put-back/<int:task_id>/confirm/", put_back_confirm_view, name="put-back-confirm"),
]
