"""Editing a routing rule: the validation every editor shares (the admin, the console) and saving it."""

from django import forms
from django.db import transaction

from oms.models import OrderLine, RoutingRule

WEIGHT_FIELDS = ("weight_stock", "weight_distance", "weight_workload", "weight_priority", "weight_kind")


class RoutingRuleForm(forms.ModelForm):
    """The rule's list fields are JSON: each must name only values routing knows."""

    class Meta:
        model = RoutingRule
        fields = [
            "name", "position", "is_active", "queues", "delivery", "kinds", "channels", "min_priority", "sort_by",
            "fences", "weight_stock", "weight_distance", "weight_workload", "weight_priority", "weight_kind",
            "prefer", "max_facilities", "unfilled_action", "auto_cancel_days",
        ]

    def _choices_list(self, name: str, allowed) -> list:
        value = self.cleaned_data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise forms.ValidationError('Give a list of names, e.g. ["BROKERING", "REJECTED"], or [] for any.')
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise forms.ValidationError(f"Unknown: {', '.join(unknown)}. Use {', '.join(allowed)}.")
        return value

    def clean_queues(self):
        return self._choices_list("queues", OrderLine.Queue.values)

    def clean_kinds(self):
        return self._choices_list("kinds", OrderLine.Kind.values)

    def clean_fences(self):
        return self._choices_list("fences", RoutingRule.FENCES)

    def clean_channels(self):
        value = self.cleaned_data.get("channels") or []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise forms.ValidationError('Give a list of channel names, e.g. ["shopify"], or [] for any.')
        return value

    def clean_max_facilities(self):
        value = self.cleaned_data.get("max_facilities")
        if value is not None and value < 1:
            raise forms.ValidationError("Give 1 or more: 1 keeps every order whole, N splits across up to N.")
        return value

    def clean(self):
        cleaned = super().clean()
        for name in WEIGHT_FIELDS:
            if (cleaned.get(name) or 0) < 0:
                self.add_error(name, "Weights cannot be negative.")
        return cleaned


def rule_save(*, form: RoutingRuleForm) -> RoutingRule:
    """Save a validated rule form (the next brokering run uses the rule as saved)."""
    if not form.is_valid():
        raise ValueError("rule_save needs a valid form")
    with transaction.atomic():
        return form.save()
