"""The console's orders area: the orders list, the order page and the actions on it (thin: parse, call, render)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from oms.console.access import console_view
from oms.console.orders.forms import (
    ApproveForm,
    CancelLinesForm,
    CancelOrderForm,
    OrderFilterForm,
    RequestCreateForm,
    RequestReasonForm,
    RequestSendForm,
)
from oms.console.orders.selectors import (
    order_channels,
    order_page,
    orders_page_prefetch,
    orders_search,
    routing_preview_rows,
)
from oms.console.orders.services import OrderActionRefused, order_cancel_by_operator
from oms.models import FulfillmentRequest, Order
from oms.orders.approval import ApprovalError, order_approve
from oms.orders.cancellations import CancelRefused, order_lines_cancel
from oms.routing.explain import decision_in_words
from oms.routing.requests import (
    RequestError,
    request_create_manual,
    request_process,
    request_regenerate,
    request_retry,
    request_void,
)

ORDERS_PER_PAGE = 50
REFUSED = 409  # the order or request changed: the action no longer applies


@console_view
@require_GET
def orders_list(request):
    """Orders, newest first: search, filters, 50 a page (the filters stay in the page links)."""
    form = OrderFilterForm(request.GET or None, channels=order_channels())
    status = 200
    if not form.is_bound:
        orders = orders_search()
    elif form.is_valid():
        orders = orders_search(**form.search_arguments())
    else:
        orders, status = Order.objects.none(), 400
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = orders_page_prefetch(list(page.object_list))
    kept = request.GET.copy()
    kept.pop("page", None)
    template = "console/orders/list.html#area" if request.htmx else "console/orders/list.html"
    return TemplateResponse(request, template, {"form": form, "page": page, "rows": rows,
                                                "filters": kept.urlencode()}, status=status)


@console_view
@require_GET
def order_detail(request, order_id: int):
    return _order_response(request, order_id)


@console_view
@require_GET
def order_preview(request, order_id: int):
    """What routing would decide now (writes nothing): a panel loaded by htmx, or the order page with it."""
    get_object_or_404(Order.objects.only("pk"), pk=order_id)
    rows = routing_preview_rows(order_id=order_id)
    if request.htmx:
        return TemplateResponse(request, "console/orders/order.html#preview", {"preview": rows, "previewed": True})
    return _order_response(request, order_id, extra={"preview": rows, "previewed": True})


@console_view
@require_POST
def order_approve_view(request, order_id: int):
    order = get_object_or_404(Order.objects.only("pk", "name"), pk=order_id)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return _order_response(request, order_id, bound=("approve", form), status=400)
    try:
        order_approve(order_id=order.pk, actor=request.user, reason=form.cleaned_data["reason"], manual=True)
    except ApprovalError as exc:
        return _refused(request, order_id, exc, bound=("approve", form))
    messages.success(request, f"Order {order.name} approved: its lines wait in their queues for routing.")
    return redirect("console:order", order_id=order_id)


@console_view
@require_POST
def order_cancel_view(request, order_id: int):
    order = get_object_or_404(Order.objects.only("pk", "name"), pk=order_id)
    form = CancelOrderForm(request.POST)
    if not form.is_valid():
        return _order_response(request, order_id, bound=("cancel", form), status=400)
    try:
        order = order_cancel_by_operator(order_id=order.pk, actor=request.user, reason=form.cleaned_data["reason"])
    except OrderActionRefused as exc:
        return _refused(request, order_id, exc, bound=("cancel", form))
    messages.success(request, f"Order {order.name} is {order.status}: its open work was canceled and the shop is told.")
    return redirect("console:order", order_id=order_id)


@console_view
@require_POST
def order_lines_cancel_view(request, order_id: int):
    page = _page_or_404(order_id)
    form = CancelLinesForm(request.POST, lines=page.cancelable_lines)
    if not form.is_valid():
        return _order_response(request, order_id, bound=("cancel_lines", form), status=400, page=page)
    try:
        order = order_lines_cancel(order_id=order_id, line_ids=form.line_ids(), actor=request.user,
                                   reason=form.cleaned_data["reason"])
    except CancelRefused as exc:
        return _refused(request, order_id, exc, bound=("cancel_lines", form))
    messages.success(request, f"{len(form.line_ids())} line(s) of {order.name} canceled; the order is {order.status}.")
    return redirect("console:order", order_id=order_id)


@console_view
@require_POST
def request_create_view(request, order_id: int):
    page = _page_or_404(order_id)
    form = RequestCreateForm(request.POST, lines=page.queued_lines)
    if not form.is_valid():
        return _order_response(request, order_id, bound=("create", form), status=400, page=page)
    try:
        created = request_create_manual(order_id=order_id, facility_id=form.cleaned_data["facility"].pk,
                                        line_quantities=form.line_quantities(), actor=request.user,
                                        reason=form.cleaned_data["reason"])
    except RequestError as exc:
        return _refused(request, order_id, exc, bound=("create", form))
    messages.success(request, f"Created {created.number} at {form.cleaned_data['facility'].code} ({created.status}).")
    return redirect("console:order", order_id=order_id)


@console_view
@require_POST
def request_void_view(request, order_id: int, request_id: int):
    fulfillment_request = _request_or_404(order_id, request_id)
    form = RequestReasonForm(request.POST)
    if not form.is_valid():
        return _order_response(request, order_id, bound=(f"void-{request_id}", form), status=400)
    try:
        request_void(request_id=request_id, actor=request.user, reason=form.cleaned_data["reason"])
    except RequestError as exc:
        return _refused(request, order_id, exc, bound=(f"void-{request_id}", form))
    messages.success(request, f"{fulfillment_request.number} voided: its lines are back in BROKERING.")
    return redirect("console:order", order_id=order_id)


@console_view
@require_POST
def request_regenerate_view(request, order_id: int, request_id: int):
    fulfillment_request = _request_or_404(order_id, request_id)
    form = RequestReasonForm(request.POST)
    if not form.is_valid():
        return _order_response(request, order_id, bound=(f"regenerate-{request_id}", form), status=400)
    try:
        decision = request_regenerate(request_id=request_id, actor=request.user, reason=form.cleaned_data["reason"])
    except RequestError as exc:
        return _refused(request, order_id, exc, bound=(f"regenerate-{request_id}", form))
    words = decision_in_words(decision) if decision else "nothing was left to route."
    messages.success(request, f"{fulfillment_request.number} voided and routed again: {words}")
    return redirect("console:order", order_id=order_id)


@console_view
@require_POST
def request_process_view(request, order_id: int, request_id: int):
    return _request_send(request, order_id, request_id, action="process", service=request_process)


@console_view
@require_POST
def request_retry_view(request, order_id: int, request_id: int):
    return _request_send(request, order_id, request_id, action="retry", service=request_retry)


# --- helpers ------------------------------------------------------------------------------------------


def _request_send(request, order_id: int, request_id: int, *, action: str, service):
    _request_or_404(order_id, request_id)
    form = RequestSendForm(request.POST)
    if not form.is_valid():
        return _order_response(request, order_id, bound=(f"{action}-{request_id}", form), status=400)
    try:
        sent = service(request_id=request_id, actor=request.user)
    except RequestError as exc:
        return _refused(request, order_id, exc)
    messages.success(request, f"{sent.number} is {sent.status}: its pick job is waiting at {sent.facility.code}.")
    return redirect("console:order", order_id=order_id)


def _page_or_404(order_id: int):
    page = order_page(order_id=order_id)
    if page is None:
        raise Http404("No such order")
    return page


def _request_or_404(order_id: int, request_id: int) -> FulfillmentRequest:
    return get_object_or_404(FulfillmentRequest.objects.only("pk", "number"), pk=request_id, order_id=order_id)


def _refused(request, order_id: int, error: Exception, *, bound=None):
    """The service refused (the order changed meanwhile, or the action does not apply): say why, change nothing."""
    messages.error(request, getattr(error, "message", None) or str(error))
    return _order_response(request, order_id, bound=bound, status=REFUSED)


def _order_response(request, order_id: int, *, bound=None, status: int = 200, page=None, extra=None):
    """The order page, with the action form that was just refused (bound, with its errors) opened."""
    page = page or _page_or_404(order_id)
    forms = {
        "approve": ApproveForm(auto_id="approve_%s"),
        "cancel": CancelOrderForm(auto_id="cancel_%s"),
        "cancel_lines": CancelLinesForm(lines=page.cancelable_lines, auto_id="cancel_lines_%s"),
        "create": RequestCreateForm(lines=page.queued_lines, auto_id="create_%s"),
    }
    for row in page.requests:
        pk = row.request.pk
        row.forms = {
            "void": RequestReasonForm(auto_id=f"void{pk}_%s"),
            "regenerate": RequestReasonForm(auto_id=f"regenerate{pk}_%s"),
            "process": RequestSendForm(auto_id=f"process{pk}_%s"),
            "retry": RequestSendForm(auto_id=f"retry{pk}_%s"),
        }
    opened = ""
    if bound is not None:
        opened, form = bound
        name, _, request_id = opened.partition("-")
        if request_id:
            for row in page.requests:
                if str(row.request.pk) == request_id:
                    form.auto_id = f"{name}{request_id}_%s"
                    row.forms[name] = form
                    row.opened = name
        else:
            form.auto_id = f"{name}_%s"
            forms[name] = form
    context = {"page": page, "order": page.order, "forms": forms, "opened": opened, **(extra or {})}
    return TemplateResponse(request, "console/orders/order.html", context, status=status)
