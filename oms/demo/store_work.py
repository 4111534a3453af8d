"""Demo only: move some of each store's routed work along, so the demo opens with something at every station.

Runs the real picking and packing services as each store's associate: per store one order picked
(waiting at packing), one packed and labelled (waiting for the carrier) and one pickup order ready at
the counter. A store that already has
pack work is left alone, so seeding twice changes nothing.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from fulfillment.defaults import store_defaults_ensure
from fulfillment.labels import parcel_create_label
from fulfillment.models import BoxType, PackJob, PickJob, PickLine
from fulfillment.packing import pack_job_close, pack_job_start, parcel_default_weight, parcel_set_box
from fulfillment.picking import pick_job_start, pick_line_tap
from stores.models import Facility, StoreMembership


@dataclass
class DemoStoreWork:
    picked: int = 0
    labelled: int = 0
    ready_for_pickup: int = 0


def demo_store_work(*, stores: int = 6) -> DemoStoreWork:
    done = DemoStoreWork()
    store_defaults_ensure()  # boxes and short-pick reasons, should someone have emptied the lists
    boxes = list(BoxType.objects.filter(is_active=True).order_by("position", "pk"))
    # The same first stores every time; those that already have pack work are left alone.
    facilities = Facility.objects.filter(kind=Facility.Kind.STORE, fulfilled_by_wms=False).order_by("code")[:stores]
    for facility in facilities:
        if PackJob.objects.filter(facility=facility).exists():
            continue
        associate = (StoreMembership.objects.filter(facility=facility, role=StoreMembership.Role.ASSOCIATE)
                     .select_related("user").first())
        if associate is None or not boxes:
            continue
        pickup_lines = PickLine.objects.filter(pick_job=OuterRef("pk"), order_line__pickup_facility__isnull=False)
        jobs = list(PickJob.objects.filter(facility=facility, status=PickJob.Status.OPEN)
                    .exclude(Exists(pickup_lines)).order_by("due_at", "pk")[:2])
        for index, job in enumerate(jobs):
            pack_job = _pick_all(job, associate.user)
            done.picked += 1
            if index == 1 and pack_job is not None:
                _pack_and_label(pack_job, associate.user, boxes)
                done.labelled += 1
        # And one pickup order ready at the counter (its ready-for-pickup email goes out through the outbox).
        pickup_job = (PickJob.objects.filter(facility=facility, status=PickJob.Status.OPEN)
                      .filter(Exists(pickup_lines)).order_by("due_at", "pk").first())
        if pickup_job is not None:
            _pick_all(pickup_job, associate.user)
            done.ready_for_pickup += 1
    return done


def _pick_all(job: PickJob, user) -> PackJob | None:
    pick_job_start(job_id=job.pk, facility_id=job.facility_id, actor=user, version=None)
    for line in job.lines.filter(status=PickLine.Status.OPEN).order_by("pk"):
        pick_line_tap(job_id=job.pk, facility_id=job.facility_id, actor=user, version=None, line_id=line.pk,
                      quantity=line.quantity - line.picked_quantity)
    return PackJob.objects.filter(pick_job=job).first()


def _pack_and_label(pack_job: PackJob, user, boxes: list[BoxType]) -> None:
    ids = {"pack_job_id": pack_job.pk, "facility_id": pack_job.facility_id, "actor": user, "version": None}
    pack_job_start(**ids)
    for parcel in pack_job.shipment.parcels.all():
        content = parcel.weight_grams  # the items' weight: no box chosen yet
        box = next((box for box in boxes
                    if box.max_weight_grams is None
                    or parcel_default_weight(content_grams=content, box_type=box) <= box.max_weight_grams), boxes[-1])
        parcel_set_box(parcel_id=parcel.pk, box_type_id=box.pk, weight_grams=None, **ids)
        parcel_create_label(parcel_id=parcel.pk, **ids)
    pack_job_close(**ids)
