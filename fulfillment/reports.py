"""Reports on the stores' work: rejections per store and overall, for a period, as a page or CSV."""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from oms.core.csv_cells import csv_cell_safe
from oms.models import LineRejection
from stores.models import Facility, InventoryAdjustment

TOP_ITEMS = 10


@dataclass
class ItemRow:
    sku: str
    name: str
    units: int
    rejections: int


@dataclass
class ReasonRow:
    reason: str
    units: int
    rejections: int


@dataclass
class StoreRow:
    code: str
    name: str
    allocated_units: int
    rejected_units: int

    @property
    def rate(self) -> Decimal | None:
        """Rejected units per 100 allocated units, one decimal (None when nothing was allocated)."""
        if not self.allocated_units:
            return None
        return (Decimal(100 * self.rejected_units) / self.allocated_units).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass
class RejectionsReport:
    start: date
    end: date
    facility: Facility | None
    items: list[ItemRow] = field(default_factory=list)
    reasons: list[ReasonRow] = field(default_factory=list)
    stores: list[StoreRow] = field(default_factory=list)

    @property
    def rejected_units(self) -> int:
        return sum(row.units for row in self.reasons)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, time.min), tz),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz))


def rejections_report(*, facility: Facility | None = None, start: date, end: date) -> RejectionsReport:
    """Rejections from `start` to `end` (whole days, both included, in the site's time zone), of one store or all.

    - items: the most rejected products (top 10 by units rejected, then SKU);
    - reasons: units and rejections per reason as the manager chose it, plus "rejected to avoid split" for
      the lines a full rejection sent along;
    - stores: per store, *rejection rate* = units rejected by the store in the period (every LineRejection,
      avoid-split units included: they left the store too) ÷ units allocated to the store in the period
      (RESERVE entries of its stock ledger: every unit routing reserved there), as a percentage. Stores with
      neither allocations nor rejections in the period are left out.
    Five queries however many rows.
    """
    since, until = _bounds(start, end)
    rejections = LineRejection.objects.filter(created_at__gte=since, created_at__lt=until)
    reserves = InventoryAdjustment.objects.filter(reason=InventoryAdjustment.Reason.RESERVE, created_at__gte=since,
                                                  created_at__lt=until)
    if facility is not None:
        rejections = rejections.filter(facility=facility)
        reserves = reserves.filter(stock_level__facility=facility)
    report = RejectionsReport(start=start, end=end, facility=facility)
    report.items = [
        ItemRow(sku=row["product__sku"] or "", name=row["product__name"] or "", units=row["units"],
                rejections=row["rejections"])
        for row in rejections.values("product__sku", "product__name")
        .annotate(units=Sum("quantity"), rejections=Count("pk")).order_by("-units", "product__sku")[:TOP_ITEMS]
    ]
    report.reasons = [
        ReasonRow(reason=row["reason_text"], units=row["units"], rejections=row["rejections"])
        for row in rejections.values("reason_text").annotate(units=Sum("quantity"), rejections=Count("pk"))
        .order_by("-units", "reason_text")
    ]
    rejected = dict(rejections.values_list("facility_id").annotate(units=Sum("quantity")))
    allocated = dict(reserves.values_list("stock_level__facility_id").annotate(units=Sum("reserved_delta")))
    facilities = Facility.objects.filter(pk__in=set(rejected) | set(allocated)).order_by("code")
    report.stores = [
        StoreRow(code=f.code, name=f.name, allocated_units=allocated.get(f.pk, 0), rejected_units=rejected.get(f.pk, 0))
        for f in facilities
    ]
    return report


def rejections_report_csv(report: RejectionsReport) -> str:
    """The report as one CSV: a `section` column (item, reason, store) and the figures of each row."""
    out = io.StringIO()
    writer = _SafeWriter(csv.writer(out))
    writer.writerow(["section", "key", "name", "units", "rejections", "allocated_units", "rejection_rate_percent"])
    for item in report.items:
        writer.writerow(["item", item.sku, item.name, item.units, item.rejections, "", ""])
    for reason in report.reasons:
        writer.writerow(["reason", reason.reason, reason.reason, reason.units, reason.rejections, "", ""])
    for store in report.stores:
        writer.writerow(["store", store.code, store.name, store.rejected_units, "", store.allocated_units,
                         "" if store.rate is None else str(store.rate)])
    return out.getvalue()


class _SafeWriter:
    """csv.writer whose text cells a spreadsheet opens as text, never as a formula (oms.core.csv_cells)."""

    def __init__(self, writer):
        self.writer = writer

    def writerow(self, row) -> None:
        self.writer.writerow([csv_cell_safe(cell) for cell in row])
