"""Editing a routing rule: the validation every editor shares (the admin, the console) and saving it."""

from django import forms
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
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


def rule_save(*, form: RoutingRuleForm, actor=None) -> RoutingRule:
    """Save a validated rule form (the next brokering run uses the rule as saved).

    With an `actor` the edit is recorded as an admin log entry on the rule (its History in the admin, and the
    console's rule page): who, when, and each changed field's old and new value.
    """
    if not form.is_valid():
        raise ValueError("rule_save needs a valid form")
    created = form.instance.pk is None
    changes = rule_changes_text(form)
    with transaction.atomic():
        rule = form.save()
        if actor is not None and (created or changes):
            LogEntry.objects.create(
                user_id=actor.pk, content_type_id=ContentType.objects.get_for_model(RoutingRule).pk,
                object_id=str(rule.pk), object_repr=str(rule)[:200], action_flag=ADDITION if created else CHANGE,
                change_message=f"{'Created' if created else 'Changed'} in the console: {changes}",
            )
    return rule


def rule_changes_text(form: RoutingRuleForm) -> str:
    """'Label: old → new' for each field the form changes (a new rule: 'Label: value' for each field given)."""
    created = form.instance.pk is None
    parts = []
    for name in form.changed_data:
        if name not in form.Meta.fields:
            continue
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        new = _shown(form.cleaned_data.get(name))
        parts.append(f"{label}: {new}" if created else f"{label}: {_shown(form.initial.get(name))} → {new}")
    return "; ".join(parts)


def _shown(value) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
