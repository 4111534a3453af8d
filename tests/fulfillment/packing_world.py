"""Ship orders picked through the real picking path (their pack job comes from pack_job_create); packing helpers."""

import subprocess
from pathlib import Path

from django.utils import timezone

from fulfillment.labels import parcel_create_label
from fulfillment.models import BoxType, HandoverJob, PackJob
from fulfillment.packing import pack_job_close, pack_job_start, parcel_set_box
from fulfillment.picking import pick_job_start, pick_line_tap
from tests.fulfillment.store_world import routed_order, stock, store_with_people


def picked_order(facility, associate, items: list[tuple], *, now=None) -> PackJob:
    """An order of [(product, quantity)] routed to `facility` and picked in full: its OPEN pack job."""
    now = now or timezone.now()
    _, pick_job = routed_order(facility, items, now=now)
    pick_job = pick_job_start(job_id=pick_job.pk, facility_id=facility.pk, actor=associate,
                              version=pick_job.version, now=now)
    for line in pick_job.lines.order_by("pk"):
        pick_line_tap(job_id=pick_job.pk, facility_id=facility.pk, actor=associate, version=None, line_id=line.pk,
                      quantity=line.quantity, now=now)
    return PackJob.objects.select_related("shipment", "order").get(pick_job=pick_job)


def version_of(job: PackJob) -> int:
    return PackJob.objects.values_list("version", flat=True).get(pk=job.pk)


def box(code: str = "small") -> BoxType:
    return BoxType.objects.get(code=code)


def packed(job: PackJob, associate, *, box_code: str = "small", close: bool = True, now=None) -> HandoverJob | None:
    """Start, box, label every parcel and (by default) close the job: its carrier handover job."""
    common = {"pack_job_id": job.pk, "facility_id": job.facility_id, "actor": associate, "now": now}
    if PackJob.objects.filter(pk=job.pk, status=PackJob.Status.OPEN).exists():
        pack_job_start(version=version_of(job), **common)
    for parcel in job.shipment.parcels.filter(status="OPEN", items__isnull=False).distinct().order_by("pk"):
        parcel_set_box(parcel_id=parcel.pk, box_type_id=box(box_code).pk, weight_grams=None, version=version_of(job),
                       **{k: v for k, v in common.items() if k != "now"})
        parcel_create_label(parcel_id=parcel.pk, version=version_of(job), **common)
    if close:
        return pack_job_close(version=version_of(job), **common)
    return None


def pdf_info(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


__all__ = ["box", "packed", "pdf_info", "pdf_text", "picked_order", "stock", "store_with_people", "version_of"]
