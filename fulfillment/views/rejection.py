"""Rejection pages: a manager rejects a pick line, an associate reports a problem, the manager's problem list,
and the rejections report (a store's for its managers, every store's for operations). Thin: parse, call, render."""

from datetime import date, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from fulfillment.errors import StoreRefusal
from fulfillment.rejection import (
    line_problem_confirm,
    line_problem_dismiss,
    line_problem_report,
    line_problems_open,
    line_reject,
    rejection_reasons,
)
from fulfillment.reports import rejections_report, rejections_report_csv
from fulfillment.views.common import int_or, render_refusal, store_view
from fulfillment.views.picking import job_action
from stores.access import is_operations


class _Done:
    def __init__(self, message: str):
        self.message = message


# --- on the pick job page ------------------------------------------------------------------------

@require_POST
@store_view
def line_reject_view(request, job_id: int, line_id: int):
    reason = request.POST.get("reason", "")
    quantity = int_or(request.POST.get("quantity")) or None

    def action(**kw):
        line = line_reject(pick_line_id=line_id, reason_code=reason, quantity=quantity, **kw)
        return _Done(f"{line.product.name}: rejected, sent to another location.")

    return job_action(request, job_id, action)


@require_POST
@store_view
def line_problem_report_view(request, job_id: int, line_id: int):
    note = request.POST.get("note", "")

    def action(**kw):
        problem = line_problem_report(pick_line_id=line_id, note=note, **kw)
        return _Done(f"{problem.pick_line.product.name}: the manager was told.")

    return job_action(request, job_id, action)


# --- the manager's problem list -------------------------------------------------------------------

def _problems_page(request, *, message: str = "", level: str = "info", status: int = 200):
    # htmx (confirm, dismiss) swaps #problems: it gets that part alone, never the whole page inside it.
    template = "fulfillment/problems.html#problems" if request.htmx else "fulfillment/problems.html"
    return render(request, template, {
        "section": "pick", "problems": line_problems_open(facility_id=request.facility.pk),
        "reasons": rejection_reasons(), "message": message, "level": level,
    }, status=status)


@require_GET
@store_view(manager_only=True)
def problems_page(request):
    return _problems_page(request)


def _problem_action(request, action, done: str):
    try:
        action()
    except StoreRefusal as error:
        if request.htmx:
            return render_refusal(request, error)
        return _problems_page(request, message=error.message, level="error", status=error.status)
    if request.htmx:
        return _problems_page(request, message=done, level="ok")
    return redirect("fulfillment:problems", request.facility.code)


@require_POST
@store_view(manager_only=True)
def problem_confirm_view(request, problem_id: int):
    reason = request.POST.get("reason", "")
    return _problem_action(request, lambda: line_problem_confirm(
        problem_id=problem_id, facility_id=request.facility.pk, actor=request.user, reason_code=reason),
        "Rejected: the items go to another location.")


@require_POST
@store_view(manager_only=True)
def problem_dismiss_view(request, problem_id: int):
    return _problem_action(request, lambda: line_problem_dismiss(
        problem_id=problem_id, facility_id=request.facility.pk, actor=request.user),
        "Dismissed: the item stays to be picked.")


# --- the report ----------------------------------------------------------------------------------

class PeriodForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The period must start before it ends.")
        return data


def _report_response(request, *, facility, base_template: str):
    today = timezone.localdate()
    initial = {"start": today - timedelta(days=29), "end": today}
    form = PeriodForm({"start": request.GET.get("start") or initial["start"],
                       "end": request.GET.get("end") or initial["end"]})
    if not form.is_valid():
        return render(request, "fulfillment/rejections_report.html", {
            "form": form, "report": None, "base_template": base_template, "section": "reports"}, status=422)
    start: date = form.cleaned_data["start"]
    end: date = form.cleaned_data["end"]
    report = rejections_report(facility=facility, start=start, end=end)
    if request.GET.get("format") == "csv":
        response = HttpResponse(rejections_report_csv(report), content_type="text/csv; charset=utf-8")
        scope = facility.code if facility else "all"
        response["Content-Disposition"] = f'attachment; filename="rejections-{scope}-{start}-{end}.csv"'
        return response
    return render(request, "fulfillment/rejections_report.html", {
        "form": form, "report": report, "base_template": base_template, "section": "reports",
        "csv_query": f"start={start.isoformat()}&end={end.isoformat()}&format=csv",
    })


@require_GET
@store_view(manager_only=True)
def store_rejections_report(request):
    return _report_response(request, facility=request.facility, base_template="fulfillment/store_base.html")


@require_GET
@login_required
def rejections_report_all(request):
    if not is_operations(request.user):
        raise Http404("Operations only")
    return _report_response(request, facility=None, base_template="base.html")


store_urlpatterns = [
    path("picks/<int:job_id>/lines/<int:line_id>/reject/", line_reject_view, name="pick-line-reject"),
    path("picks/<int:job_id>/lines/<int:line_id>/problem/", line_problem_report_view, name="pick-line-problem"),
    path("problems/", problems_page, name="problems"),
    path("problems/<int:problem_id>/confirm/", problem_confirm_view, name="problem-confirm"),
    path("problems/<int:problem_id>/dismiss/", problem_dismiss_view, name="problem-dismiss"),
    path("reports/rejections/", store_rejections_report, name="store-rejections-report"),
]

urlpatterns = [
    path("reports/rejections/", rejections_report_all, name="rejections-report"),
]
