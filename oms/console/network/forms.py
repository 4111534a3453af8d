"""The network area's forms: what an operator may ask of queues, runs, schedules and rules, checked field by field."""

import io

from django import forms
from django_celery_beat.models import IntervalSchedule

from oms.console.network.schedules import BROKER_TASK, PERIODS
from oms.models import OrderLine, RoutingRule
from oms.routing.rule_form import RoutingRuleForm
from oms.routing.runs import RUN_QUEUES

MIN_INTERVAL_SECONDS = 10
REASON_HELP = "Shown on each order's timeline."


class LineIdsField(forms.Field):
    """Ticked line ids (checkboxes named `lines` in the page's table); the service reports ids that cannot move."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return sorted({int(item) for item in values})
        except (TypeError, ValueError):
            raise forms.ValidationError("Line ids are numbers: reload the page and tick again.") from None


class HoldForm(forms.Form):
    """Move chosen UNFILLABLE lines to UNFILLABLE_HOLD (never auto-canceled)."""

    lines = LineIdsField(error_messages={"required": "Tick at least one line to move."})
    # The table's checkboxes and this field belong to the page's form "hold" (form= attribute).
    reason = forms.CharField(max_length=200, help_text=REASON_HELP, widget=forms.TextInput(attrs={"form": "hold"}),
                             error_messages={"required": "Give a reason: it is shown on each order's timeline."})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "hold-%s")  # the queue page holds several forms: distinct ids
        super().__init__(*args, **kwargs)


class HoldCsvForm(forms.Form):
    """Move every UNFILLABLE line of the orders named in a CSV file (an `order` column) to UNFILLABLE_HOLD."""

    file = forms.FileField(error_messages={"required": "Choose a CSV file with an 'order' column."})
    reason = forms.CharField(max_length=200, help_text=REASON_HELP,
                             error_messages={"required": "Give a reason: it is shown on each order's timeline."})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "csv-%s")  # the queue page holds several forms: distinct ids
        super().__init__(*args, **kwargs)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 5 MB: split it.")
        try:
            return io.StringIO(upload.read().decode("utf-8-sig"), newline="")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text: save it as CSV (UTF-8).") from None


class ReleaseForm(forms.Form):
    """Release PRE_ORDER and BACKORDER lines to BROKERING: those due, or the chosen orders' lines regardless."""

    DUE, CHOSEN = "due", "chosen"
    mode = forms.ChoiceField(choices=[(DUE, "Every line whose promise date came or whose stock arrived"),
                                      (CHOSEN, "The chosen lines' orders, regardless of date and stock")],
                             initial=DUE, widget=forms.RadioSelect(attrs={"form": "release"}))
    lines = LineIdsField(required=False)
    reason = forms.CharField(max_length=200, required=False, help_text="Needed to release chosen orders by hand.",
                             widget=forms.TextInput(attrs={"form": "release"}))
    confirm = forms.BooleanField(error_messages={"required": "Tick the box to confirm the release."})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "release-%s")  # the queue page holds several forms: distinct ids
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mode") == self.CHOSEN:
            if not cleaned.get("lines") and "lines" not in self.errors:
                self.add_error("lines", "Tick the lines whose orders to release.")
            if not (cleaned.get("reason") or "").strip():
                self.add_error("reason", "Give a reason for releasing by hand (shown on the timeline).")
        return cleaned


class RunStartForm(forms.Form):
    confirm = forms.BooleanField(error_messages={"required": "Tick the box to confirm: the run allocates stock."})



class ScheduleForm(forms.Form):
    """A periodic task's interval (every N seconds, minutes or hours), whether it runs, and a run's queue."""

    enabled = forms.BooleanField(required=False)
    every = forms.IntegerField(error_messages={"required": "Give a number.", "invalid": "Give a whole number."})
    period = forms.ChoiceField(choices=[(IntervalSchedule.SECONDS, "seconds"), (IntervalSchedule.MINUTES, "minutes"),
                                        (IntervalSchedule.HOURS, "hours")])
    queue = forms.CharField(required=False, max_length=16)

    def __init__(self, *args, schedule, **kwargs):
        super().__init__(*args, **kwargs)
        self.schedule = schedule
        self.prefix = f"s-{schedule.name}"
        if schedule.task != BROKER_TASK:
            del self.fields["queue"]

    def clean_every(self):
        every = self.cleaned_data["every"]
        if every <= 0:
            raise forms.ValidationError("Give a positive number.")
        return every

    def clean_queue(self):
        queue = (self.cleaned_data.get("queue") or "").strip().upper()
        if queue not in RUN_QUEUES:
            raise forms.ValidationError(f"Unknown queue “{queue}”: runs take lines from {', '.join(RUN_QUEUES)}.")
        return queue

    def clean(self):
        cleaned = super().clean()
        every, period = cleaned.get("every"), cleaned.get("period")
        if every and every > 0 and period and every * PERIODS[period] < MIN_INTERVAL_SECONDS:
            self.add_error("every", f"Runs must be at least {MIN_INTERVAL_SECONDS} seconds apart.")
        return cleaned


class CommaListField(forms.CharField):
    """A list of names typed as "a, b": the rule form checks them as it checks the JSON lists."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        value = super().to_python(value)
        return [item.strip() for item in value.split(",") if item.strip()]


def _checkboxes(choices, help_text):
    return forms.MultipleChoiceField(choices=choices, required=False, widget=forms.CheckboxSelectMultiple,
                                     help_text=help_text)


class RuleEditForm(RoutingRuleForm):
    """The rule editor: the shared validation, with lists as checkboxes. `action` is preview or save."""

    PREVIEW, SAVE = "preview", "save"
    queues = _checkboxes(OrderLine.Queue.choices, "None ticked: every queue.")
    kinds = _checkboxes(OrderLine.Kind.choices, "None ticked: every kind.")
    fences = _checkboxes([(name, name) for name in RoutingRule.FENCES], "None ticked: every fence.")
    channels = CommaListField(required=False, help_text="Comma-separated, e.g. shopify. Empty: every channel.")
    confirm = forms.BooleanField(required=False, label="Save: the next brokering runs route with this rule")

    def __init__(self, *args, action: str = PREVIEW, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action

    def clean_confirm(self):
        if self.action == self.SAVE and not self.cleaned_data.get("confirm"):
            raise forms.ValidationError("Tick the box to save (preview first to see what changes).")
        return self.cleaned_data.get("confirm")
