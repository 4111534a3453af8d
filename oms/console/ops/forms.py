"""Input of the console's ops pages: filters, the inventory upload and a facility's settings."""

import zoneinfo

from django import forms
from django.conf import settings

from oms.models import OutboxMessage
from stores.facility_settings import CLOSES, OPENS, SETTINGS_FIELDS
from stores.models import WEEKDAYS, Facility, validate_time_zone

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
TIME_ZONES = sorted(zoneinfo.available_timezones())


MAX_UPLOAD_BYTES = settings.FILE_UPLOAD_MAX_BYTES  # bigger files go to the drop folder


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *OutboxMessage.Status.choices], required=False)
    destination = forms.ChoiceField(choices=[("", "Any destination"), *OutboxMessage.Destination.choices],
                                    required=False)
    kind = forms.CharField(max_length=48, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. pickup-ready", "size": 14}))
    order = forms.CharField(label="Order name", max_length=64, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "#1001", "size": 8}))

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"status": data.get("status", ""), "destination": data.get("destination", ""),
                "kind": data.get("kind", "").strip(), "order_name": data.get("order", "").strip()}


class InventoryUploadForm(forms.Form):
    file = forms.FileField(label="Inventory file (CSV)", allow_empty_file=False,
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.0f} MB: files up to {MAX_UPLOAD_BYTES // 1024 // 1024} MB "
                "are accepted here (put bigger ones in the drop folder).")
        return upload


class FacilitySettingsForm(forms.Form):
    """The settings of one facility; opening hours as opens/closes/closed per weekday."""

    daily_capacity = forms.IntegerField(
        label="Daily capacity", min_value=0, required=False,
        help_text="Pick jobs per day, counted in the facility's time zone; empty means unlimited.")
    sells_online = forms.BooleanField(label="Sells online (brokering may route orders here)", required=False)
    offers_ship_from_store = forms.BooleanField(label="Ship from store", required=False)
    offers_pickup = forms.BooleanField(label="Pickup (click & collect)", required=False)
    processing_mode = forms.ChoiceField(label="Processing", choices=Facility.Processing.choices)
    allow_partial_rejection = forms.BooleanField(
        label="Partial rejection: rejecting one item sends only that item back (otherwise the whole order)",
        required=False)
    pickup_service_hours = forms.IntegerField(label="Ready for pickup within (opening hours)", min_value=0,
                                              max_value=32767)
    pickup_reminder_hours = forms.IntegerField(label="Remind the customer after (hours)", min_value=0,
                                               max_value=32767)
    pickup_expiry_days = forms.IntegerField(label="Cancel uncollected pickups after (days)", min_value=0,
                                            max_value=32767)
    pickup_proof_required = forms.BooleanField(label="Ask who collects at the counter", required=False)
    pickup_alternatives_km = forms.IntegerField(
        label="Offer other stores within (km)", min_value=1, max_value=20000,
        help_text="When this store cannot serve a pickup, the customer is offered the stores this near (and delivery).")
    label_format = forms.ChoiceField(label="Label format", choices=Facility.LabelFormat.choices, required=False)
    label_printer = forms.RegexField(
        label="Label printer", regex=r"^[A-Za-z0-9.-]+(:\d{1,5})?$", max_length=120, required=False,
        error_messages={"invalid": "A host name or address, optionally :port (e.g. 10.0.4.20 or zebra-1:9100)."},
        help_text="A network thermal printer taking raw ZPL; empty: labels are downloaded and printed by hand.")
    label_service = forms.RegexField(
        label="Rate bought", regex=r"^([A-Za-z0-9_]+|CHEAPEST_WITHIN:\d{1,2}|[A-Za-z0-9_]+:[A-Za-z0-9_ ]+)$",
        max_length=60, required=False,
        error_messages={"invalid": "A service code, CHEAPEST, CHEAPEST_WITHIN:<days> or <carrier>:<service>."},
        help_text="Empty: the carrier's default. EasyPost: CHEAPEST, CHEAPEST_WITHIN:2, or e.g. USPS:Priority.")
    time_zone = forms.CharField(label="Time zone", max_length=64, validators=[validate_time_zone],
                                widget=forms.TextInput(attrs={"list": "time-zones", "size": 24}))
    shop_location_id = forms.RegexField(
        label="Shop location id", regex=r"^[0-9A-Za-z_-]*$", max_length=40, required=False,
        error_messages={"invalid": "Letters, digits, - and _ only (Shopify: the number of the location)."},
        help_text="The shop's id of this location; fulfillments are reported against it (Shopify: Location number).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day in WEEKDAYS:
            self.fields[f"{day}_closed"] = forms.BooleanField(label="Closed", required=False)
            self.fields[f"{day}_opens"] = forms.CharField(
                label=f"{DAY_NAMES[day]} opens", required=False, max_length=5,
                widget=forms.TextInput(attrs={"placeholder": "09:00", "size": 5, "inputmode": "numeric"}))
            self.fields[f"{day}_closes"] = forms.CharField(
                label=f"{DAY_NAMES[day]} closes", required=False, max_length=5,
                widget=forms.TextInput(attrs={"placeholder": "18:00", "size": 5, "inputmode": "numeric"}))

    @classmethod
    def initial_of(cls, facility: Facility) -> dict:
        initial = {name: getattr(facility, name) for name in SETTINGS_FIELDS if name != "opening_hours"}
        hours = facility.opening_hours if isinstance(facility.opening_hours, dict) else {}
        for day in WEEKDAYS:
            day_hours = hours.get(day)
            initial[f"{day}_closed"] = not day_hours
            if day_hours:
                initial[f"{day}_opens"], initial[f"{day}_closes"] = day_hours
        return initial

    def days(self):
        """(day name, closed, opens, closes) bound fields, one row per weekday, for the template."""
        return [(DAY_NAMES[day], self[f"{day}_closed"], self[f"{day}_opens"], self[f"{day}_closes"])
                for day in WEEKDAYS]

    def clean(self):
        data = super().clean()
        for day in WEEKDAYS:
            if data.get(f"{day}_closed"):
                continue
            opens = (data.get(f"{day}_opens") or "").strip()
            closes = (data.get(f"{day}_closes") or "").strip()
            if not OPENS.fullmatch(opens):
                self.add_error(f"{day}_opens", "Give the opening time as HH:MM, e.g. 09:00 (or tick closed)."
                               if opens else "Give the opening time, or tick closed.")
            if not CLOSES.fullmatch(closes):
                self.add_error(f"{day}_closes", "Give the closing time as HH:MM, e.g. 18:00 (24:00 for midnight)."
                               if closes else "Give the closing time, or tick closed.")
            elif OPENS.fullmatch(opens) and not opens < closes:
                self.add_error(f"{day}_closes", f"{DAY_NAMES[day]}: closing must come after opening ({opens}).")
        return data

    def changes(self) -> dict:
        """The cleaned settings as {field: value} for stores.facility_settings.facility_settings_update."""
        data = self.cleaned_data
        changes = {name: data[name] for name in SETTINGS_FIELDS if name != "opening_hours"}
        # Not sent (an older page): unchanged.
        changes["label_format"] = (changes["label_format"] or self.initial.get("label_format")
                                   or Facility.LabelFormat.PDF)
        changes["time_zone"] = changes["time_zone"].strip()
        changes["shop_location_id"] = (changes.get("shop_location_id") or "").strip()
        changes["opening_hours"] = {
            day: None if data[f"{day}_closed"] else [data[f"{day}_opens"].strip(), data[f"{day}_closes"].strip()]
            for day in WEEKDAYS
        }
        return changes

    def add_service_errors(self, error_dict: dict) -> None:
        """Errors from the service (the model's validators), each next to its field."""
        for name, messages in error_dict.items():
            target = name if name in self.fields else None
            if name == "opening_hours":
                target = None
            for message in messages:
                self.add_error(target, message)


class RejectionsForm(forms.Form):
    """The rejections report's choice: every store or one, and the period (whole days, both included)."""

    facility = forms.ModelChoiceField(required=False, queryset=Facility.objects.filter(kind=Facility.Kind.STORE)
                                      .order_by("code"), to_field_name="code", empty_label="Every store",
                                      label="Store")
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="to", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].label_from_instance = lambda facility: f"{facility.code} {facility.name}"

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The period must start before it ends.")
        return data
