"""Forms of the console's orders area: the list's filters and each action's confirmation."""

from django import forms

from oms.models import Order, OrderLine
from stores.models import Facility

YES_NO = [("", "Any"), ("yes", "With problems"), ("no", "Without problems")]


class OrderFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search",
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Order name, customer, email, shop id"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Order.Status.choices])
    queue = forms.ChoiceField(required=False, choices=[("", "Any queue"), *OrderLine.Queue.choices],
                              help_text="Orders with a line waiting in this queue.")
    facility = forms.ModelChoiceField(required=False, queryset=Facility.objects.order_by("code"),
                                      to_field_name="code", empty_label="Any facility",
                                      help_text="Orders with a line or a request there.")
    channel = forms.ChoiceField(required=False)
    received_from = forms.DateField(required=False, label="Received from",
                                    widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(required=False, label="Received to",
                                  widget=forms.DateInput(attrs={"type": "date"}))
    problems = forms.ChoiceField(required=False, choices=YES_NO, label="Problems",
                                 help_text="Import problems or approval blockers.")

    def __init__(self, *args, channels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", "Any channel"), *((name, name) for name in channels)]
        self.fields["facility"].label_from_instance = lambda facility: facility.code

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", "The end date is before the start date.")
        return data

    def search_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "text": data["q"], "status": data["status"], "queue": data["queue"], "facility": data["facility"],
            "channel": data["channel"], "received_from": data["received_from"], "received_to": data["received_to"],
            "has_problems": {"yes": True, "no": False}.get(data["problems"]),
        }


def _reason_field(help_text: str = "Shown on the order's timeline.") -> forms.CharField:
    return forms.CharField(max_length=500, help_text=help_text,
                           error_messages={"required": "Give a reason: it is shown on the order's timeline."},
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))


def _confirm_field(label: str) -> forms.BooleanField:
    return forms.BooleanField(label=label, error_messages={"required": "Tick the box to confirm."})


class ApproveForm(forms.Form):
    reason = _reason_field("Why you approve it by hand (shown on the timeline).")


class CancelOrderForm(forms.Form):
    reason = _reason_field()
    confirm = _confirm_field("Yes, cancel this order")


class CancelLinesForm(forms.Form):
    lines = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": "Choose at least one line to cancel."})
    reason = _reason_field()
    confirm = _confirm_field("Yes, cancel the chosen lines")

    def __init__(self, *args, lines: list[OrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = [
            (str(line.pk), f"{line.sku or line.title} × {line.quantity} ({line.status})") for line in lines
        ]

    def line_ids(self) -> list[int]:
        return [int(pk) for pk in self.cleaned_data["lines"]]


class RequestCreateForm(forms.Form):
    """Send QUEUED lines to a facility: every queued line whole, or the units given per line."""

    facility = forms.ModelChoiceField(queryset=Facility.objects.filter(is_active=True).order_by("code"),
                                      empty_label="Choose a facility",
                                      error_messages={"required": "Choose the facility to send the lines to."})
    reason = _reason_field()
    confirm = _confirm_field("Yes, create the request (stock is reserved there)")

    def __init__(self, *args, lines: list[OrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.queued = lines
        for line in lines:
            self.fields[f"units_{line.pk}"] = forms.IntegerField(
                required=False, min_value=0, max_value=line.quantity, label=f"{line.sku or line.title}",
                widget=forms.NumberInput(attrs={"placeholder": f"0–{line.quantity}", "size": 4}),
                help_text=f"{line.quantity} queued in {line.queue}",
            )

    def unit_fields(self):
        return [self[f"units_{line.pk}"] for line in self.queued]

    def line_quantities(self) -> dict[int, int] | None:
        """{line id: units} for the lines given units; None (every queued line, whole) when none was given."""
        chosen = {line.pk: self.cleaned_data.get(f"units_{line.pk}") for line in self.queued}
        chosen = {pk: units for pk, units in chosen.items() if units}
        return chosen or None


class RequestReasonForm(forms.Form):
    """Void or regenerate a request."""

    reason = _reason_field()
    confirm = _confirm_field("Yes, do it")


class RequestSendForm(forms.Form):
    """Process or retry a request."""

    confirm = _confirm_field("Yes, send it to the store")
