"""The network area's pages: queues (hold, release, run now), brokering runs, their schedules, routing rules.

Views parse (forms), call one service, render; reads come from selectors. A refused action re-renders its
page with the error next to the field (400) or a message (409 for a run already going).
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from oms.console.access import console_view
from oms.console.network import selectors
from oms.console.network.forms import HoldCsvForm, HoldForm, ReleaseForm, RuleEditForm, RunStartForm, ScheduleForm
from oms.console.network.schedules import (
    ScheduleError,
    schedule_changes,
    schedule_get,
    schedule_save,
    schedules_list,
)
from oms.console.network.services import brokering_run_request
from oms.models import BrokeringRun, OrderLine, RoutingRule
from oms.queues.parkings import (
    WAITING_QUEUES,
    ParkingError,
    lines_move_to_hold,
    lines_move_to_hold_csv,
    waiting_lines_release,
)
from oms.routing.load import default_rules
from oms.routing.rule_form import rule_save
from oms.routing.runs import RUN_QUEUES, RunAlreadyActive
from oms.routing.whatif import rule_whatif

Queue = OrderLine.Queue


# --- queues -------------------------------------------------------------------------------------


@console_view
def queues(request):
    return TemplateResponse(request, "console/network/queues.html", {"queues": selectors.queue_counts()})


def _queue_or_404(queue: str) -> str:
    if queue not in Queue.values:
        raise Http404("No such queue")
    return queue


def _queue_page(request, queue: str, *, status: int = 200, **forms) -> TemplateResponse:
    context = {
        "queue": queue,
        "queue_label": Queue(queue).label,
        "page": selectors.queue_lines_page(queue=queue, page=selectors.page_number(request.GET.get("page"))),
        "running": selectors.queue_running_run(queue) if queue in RUN_QUEUES else None,
        "can_hold": queue == Queue.UNFILLABLE,
        "can_release": queue in WAITING_QUEUES,
        "can_run": queue in RUN_QUEUES,
        "hold_form": forms.get("hold_form") or HoldForm(),
        "csv_form": forms.get("csv_form") or HoldCsvForm(),
        "release_form": forms.get("release_form") or ReleaseForm(),
        "run_form": forms.get("run_form") or RunStartForm(),
        "report": forms.get("report"),
        "ticked": set(forms.get("ticked") or ()),
    }
    return TemplateResponse(request, "console/network/queue.html", context, status=status)


@console_view
def queue(request, queue: str):
    return _queue_page(request, _queue_or_404(queue))


def _refused(request, queue: str, text: str, *, status: int = 400, **forms) -> TemplateResponse:
    messages.error(request, text)
    return _queue_page(request, queue, status=status, **forms)


@console_view
@require_POST
def queue_hold(request, queue: str):
    """Move the ticked UNFILLABLE lines to UNFILLABLE_HOLD, with a reason."""
    queue = _queue_or_404(queue)
    form = HoldForm(request.POST)
    if queue != Queue.UNFILLABLE:
        return _refused(request, queue, "Only UNFILLABLE lines are moved to UNFILLABLE_HOLD.")
    if not form.is_valid():
        return _refused(request, queue, "Nothing was moved: see the form below.", hold_form=form,
                        ticked=form.cleaned_data.get("lines", ()) if hasattr(form, "cleaned_data") else ())
    try:
        report = lines_move_to_hold(line_ids=form.cleaned_data["lines"], actor=request.user,
                                    reason=form.cleaned_data["reason"])
    except ParkingError as exc:
        return _refused(request, queue, str(exc), hold_form=form)
    _report_message(request, report)
    return redirect(f"{reverse('console:queue', args=[queue])}?page={selectors.page_number(request.GET.get('page'))}")


@console_view
@require_POST
def queue_hold_csv(request, queue: str):
    """Move the UNFILLABLE lines of the orders named in an uploaded CSV to UNFILLABLE_HOLD; show the report."""
    queue = _queue_or_404(queue)
    form = HoldCsvForm(request.POST, request.FILES)
    if queue != Queue.UNFILLABLE:
        return _refused(request, queue, "Only UNFILLABLE lines are moved to UNFILLABLE_HOLD.")
    if not form.is_valid():
        return _refused(request, queue, "Nothing was moved: see the upload form below.", csv_form=form)
    try:
        report = lines_move_to_hold_csv(file=form.cleaned_data["file"], actor=request.user,
                                        reason=form.cleaned_data["reason"])
    except ParkingError as exc:
        return _refused(request, queue, str(exc), csv_form=form)
    _report_message(request, report)
    return _queue_page(request, queue, report=report)


def _report_message(request, report) -> None:
    refused = len(report.not_found) + len(report.not_in_queue) + len(report.bad_rows)
    text = f"Moved {report.lines_moved} line(s) of {len(report.moved)} order(s) to UNFILLABLE_HOLD."
    if refused:
        messages.warning(request, f"{text} {refused} could not be moved: see the report.")
        for line in report.text_lines()[1:]:
            if not line.strip().endswith("moved"):
                messages.warning(request, line.strip())
    elif report.lines_moved:
        messages.success(request, text)
    else:
        messages.error(request, "Nothing was moved.")


@console_view
@require_POST
def queue_release(request, queue: str):
    """Release PRE_ORDER and BACKORDER lines to BROKERING: the due ones, or the ticked lines' orders by hand."""
    queue = _queue_or_404(queue)
    form = ReleaseForm(request.POST)
    if queue not in WAITING_QUEUES:
        return _refused(request, queue, "Only PRE_ORDER and BACKORDER lines are released.")
    if not form.is_valid():
        return _refused(request, queue, "Nothing was released: see the form below.", release_form=form)
    data = form.cleaned_data
    if data["mode"] == ReleaseForm.CHOSEN:
        order_ids = selectors.order_ids_of_lines(line_ids=data["lines"], queues=WAITING_QUEUES)
        if not order_ids:
            return _refused(request, queue, "None of the ticked lines waits any more: nothing was released.",
                            release_form=form)
        released = waiting_lines_release(order_ids=order_ids, force=True, actor=request.user, reason=data["reason"])
    else:
        released = waiting_lines_release(actor=request.user)
    if released:
        messages.success(request, f"Released {released} line(s) to BROKERING.")
    else:
        messages.warning(request, "No line was due: nothing was released (no promise date reached, no stock).")
    return redirect("console:queue", queue=queue)


@console_view
@require_POST
def queue_run(request, queue: str):
    """Start a brokering run of the queue now (on the worker)."""
    queue = _queue_or_404(queue)
    form = RunStartForm(request.POST)
    if not form.is_valid():
        return _refused(request, queue, "No run was started: tick the box to confirm.", run_form=form)
    try:
        brokering_run_request(queue=queue, actor=request.user)
    except RunAlreadyActive:
        return _refused(request, queue, f"A run of {queue} is running: no second run was started.", status=409)
    except ValueError as exc:
        return _refused(request, queue, str(exc))
    messages.success(request, f"A brokering run of {queue} was queued: it appears under Brokering runs when it starts.")
    return redirect("console:queue", queue=queue)


# --- runs ---------------------------------------------------------------------------------------


@console_view
def runs(request):
    queue = request.GET.get("queue", "")
    if queue not in Queue.values:
        queue = ""
    context = {
        "page": selectors.runs_page(queue=queue, page=selectors.page_number(request.GET.get("page"))),
        "queue": queue,
        "queues": RUN_QUEUES,
    }
    return TemplateResponse(request, "console/network/runs.html", context)


@console_view
def run(request, run_id: int):
    found = selectors.run_get(run_id)
    if found is None:
        raise Http404("No such run")
    context = {
        "run": found,
        "decisions": selectors.run_decisions_page(run=found, page=selectors.page_number(request.GET.get("page"))),
        "running": found.status == BrokeringRun.Status.RUNNING,
    }
    return TemplateResponse(request, "console/network/run.html", context)


# --- schedules ----------------------------------------------------------------------------------


def _schedules_page(request, *, bound: ScheduleForm | None = None, status: int = 200) -> TemplateResponse:
    rows = []
    for schedule in schedules_list():
        if bound is not None and bound.schedule.name == schedule.name:
            form = bound
        elif schedule.every is not None:
            form = ScheduleForm(schedule=schedule, initial={
                "enabled": schedule.enabled, "every": schedule.every, "period": schedule.period,
                "queue": schedule.queue})
        else:
            form = None
        rows.append((schedule, form))
    return TemplateResponse(request, "console/network/schedules.html",
                            {"rows": rows, "run_queues": RUN_QUEUES, "changes": schedule_changes()}, status=status)


@console_view
def schedules(request):
    return _schedules_page(request)


@console_view
@require_POST
def schedule_edit(request, name: str):
    schedule = schedule_get(name)
    if schedule is None:
        raise Http404("No such schedule")
    if schedule.every is None:
        messages.error(request, f"{name} is not an interval schedule: edit it in the admin.")
        return _schedules_page(request, status=400)
    form = ScheduleForm(request.POST, schedule=schedule)
    if not form.is_valid():
        messages.error(request, f"{name} was not changed: see the errors in its row.")
        return _schedules_page(request, bound=form, status=400)
    data = form.cleaned_data
    try:
        saved = schedule_save(name=name, enabled=data["enabled"], every=data["every"], period=data["period"],
                              queue=data.get("queue"), actor=request.user)
    except ScheduleError as exc:
        messages.error(request, str(exc))
        return _schedules_page(request, status=400)
    state = "enabled" if saved.enabled else "disabled"
    messages.success(request, f"{name}: every {saved.every} {saved.period}, {state}"
                              + (f", queue {saved.queue}" if saved.queue else "") + ".")
    return redirect("console:schedules")


# --- routing rules ------------------------------------------------------------------------------


@console_view
def rules(request):
    saved = selectors.rules_list()
    return TemplateResponse(request, "console/network/rules.html",
                            {"rules": saved, "defaults": default_rules() if not saved else []})


def _rule_editor(request, rule: RoutingRule | None):
    action = request.POST.get("action", RuleEditForm.PREVIEW) if request.method == "POST" else RuleEditForm.PREVIEW
    form = RuleEditForm(request.POST or None, instance=rule, action=action)
    context = {"form": form, "rule": rule, "whatif": None,
               "history": selectors.rule_history(rule.pk) if rule is not None else []}
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
            if not request.htmx:  # an htmx answer is the editor alone: it says so above the form
                done = "saved" if action == RuleEditForm.SAVE else "previewed"
                messages.error(request, f"The rule was not {done}: see the errors next to the fields.")
        elif action == RuleEditForm.SAVE:
            saved = rule_save(form=form, actor=request.user)
            messages.success(request, f"Saved rule {saved.position}. {saved.name}: the next brokering runs use it.")
            return redirect("console:rule", rule_id=saved.pk)
        else:
            context["whatif"] = rule_whatif(rule=form.instance)
    template = "console/network/rule.html#editor" if request.htmx else "console/network/rule.html"
    return TemplateResponse(request, template, context, status=status)


@console_view
@require_http_methods(["GET", "POST"])
def rule(request, rule_id: int):
    found = selectors.rule_get(rule_id)
    if found is None:
        raise Http404("No such rule")
    return _rule_editor(request, found)


@console_view
@require_http_methods(["GET", "POST"])
def rule_new(request):
    return _rule_editor(request, None)
