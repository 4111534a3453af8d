"""Changing a facility's operational settings (capacity, services, processing, pickup times, hours, time zone)."""

import logging
import re

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction

from stores.models import WEEKDAYS, Facility

logger = logging.getLogger(__name__)

# What operations staff may change from the console; setup data (code, address, kind) stays in the admin.
SETTINGS_FIELDS = (
    "daily_capacity",
    "sells_online",
    "offers_ship_from_store",
    "offers_pickup",
    "processing_mode",
    "allow_partial_rejection",
    "pickup_service_hours",
    "pickup_reminder_hours",
    "pickup_expiry_days",
    "pickup_proof_required",
    "pickup_alternatives_km",
    "label_format",
    "label_printer",
    "label_service",
    "opening_hours",
    "time_zone",
    "shop_location_id",
)
# "24:00" closes at the end of the day (fulfillment.due reads it so); anything else is a time of day.
OPENS = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
CLOSES = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")


def opening_hours_check(value) -> None:
    """Stricter than the model's validator: times are well formed (HH:MM, 00:00–24:00) and every open day
    opens before it closes. Raises ValidationError naming the first bad day."""
    if not isinstance(value, dict):
        raise ValidationError("Opening hours must map weekdays (mon…sun) to [opens, closes].")
    for day in WEEKDAYS:
        hours = value.get(day)
        if hours is None:
            continue
        if not (isinstance(hours, list | tuple) and len(hours) == 2 and all(isinstance(h, str) for h in hours)):
            raise ValidationError(f"{day}: give [opens, closes] like ['09:00', '18:00'] or null.")
        opens, closes = hours
        if not OPENS.fullmatch(opens) or not CLOSES.fullmatch(closes):
            raise ValidationError(f"{day}: times must look like 09:00 (closing may be 24:00).")
        if not opens < closes:  # zero-padded HH:MM compare as times
            raise ValidationError(f"{day}: the store must open before it closes.")


def facility_settings_check(*, facility_id: int, changes: dict) -> dict[str, tuple]:
    """What `facility_settings_update` would change, {field: (old, new)}, without saving (for a confirmation).
    Raises ValidationError as it would."""
    return _changes_apply(Facility.objects.get(pk=facility_id), changes)


def facility_settings_update(*, facility_id: int, changes: dict, actor=None) -> dict[str, tuple]:
    """Apply `changes` ({field: new value}, fields from SETTINGS_FIELDS) to one facility.

    Locks the facility row, validates the whole facility with the model's validators (full_clean) and the
    opening-hours check, and saves only the fields that changed. Raises ValidationError (a dict keyed by field)
    and saves nothing when anything is invalid; ValueError for a field that is not a setting. Returns what
    changed, {field: (old, new)}, which is also recorded: an admin log entry on the facility (its History in
    the admin: who, when, what) when there is an actor, and a log line.
    """
    with transaction.atomic():
        facility = Facility.objects.select_for_update().get(pk=facility_id)
        changed = _changes_apply(facility, changes)
        if not changed:
            return {}
        facility.save(update_fields=list(changed))
        text = facility_changes_text(changed)
        if actor is not None:
            LogEntry.objects.create(
                user_id=actor.pk, content_type_id=ContentType.objects.get_for_model(Facility).pk,
                object_id=str(facility.pk), object_repr=str(facility)[:200], action_flag=CHANGE,
                change_message=f"Settings changed in the console: {text}",
            )
    logger.info("facility %s settings changed by %s: %s", facility.code, actor or "nobody", text)
    return changed


def _changes_apply(facility: Facility, changes: dict) -> dict[str, tuple]:
    """Set `changes` on the (unsaved) facility and validate it; returns {field: (old, new)} of real changes."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"not facility settings: {', '.join(sorted(unknown))}")
    before = {field: getattr(facility, field) for field in changes}
    for field, value in changes.items():
        setattr(facility, field, value)
    errors = {}
    try:
        facility.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    if "opening_hours" in changes and "opening_hours" not in errors:
        try:
            opening_hours_check(facility.opening_hours)
        except ValidationError as error:
            errors["opening_hours"] = error.messages
    if errors:
        raise ValidationError(errors)
    return {field: (before[field], changes[field]) for field in changes
            if _comparable(before[field]) != _comparable(changes[field])}


def facility_changes_text(changed: dict[str, tuple]) -> str:
    """`daily capacity: 40 → 60; sells online: yes → no` for a log entry and the operator's message."""
    return "; ".join(
        f"{Facility._meta.get_field(field).verbose_name}: {_shown(old)} → {_shown(new)}"
        for field, (old, new) in changed.items()
    )


def _comparable(value):
    """Opening hours compare by what they mean: a missing day is closed, [a, b] and (a, b) are the same."""
    if isinstance(value, dict):
        return {day: list(value[day]) if value.get(day) else None for day in WEEKDAYS} | {
            key: hours for key, hours in value.items() if key not in WEEKDAYS}
    return value


def _shown(value) -> str:
    if value is True or value is False:
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{day} {'–'.join(value[day]) if value.get(day) else 'closed'}" for day in WEEKDAYS)
    return str(value)
