"""The demo after a working day, for tests/url_walk.py: seeded with `seed_demo`'s code, then driven through the
services a day at the stores and at head office uses (picks with short picks, packing, labels, hand-overs,
pickups with a refusal and a no-show, a manager's rejection, brokering runs of every queue, an inventory feed,
a WMS file), with the ids and form data of every URL the walk sends.

Runs on PostgreSQL (the suite) and on SQLite (the demo's database: tests/sqlite_settings.py). Three things no
service does on demand are set directly: a pickup's expiry brought forward (the expiry task then cancels it), a
request and an outbox message marked FAILED (what a store's system or the shop refusing leaves behind).
"""

import base64
import hashlib
import hmac
import io
import json
from dataclasses import dataclass, field
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils import timezone

from fulfillment.counter import pickup_hand_over
from fulfillment.handover import handover_scan
from fulfillment.labels import parcel_create_label, parcel_void_label, shipment_issue_return_label
from fulfillment.models import (
    BoxType,
    HandoverJob,
    LineProblem,
    PackJob,
    Parcel,
    ParcelItem,
    PickBatch,
    PickJob,
    PickLine,
    PutBackTask,
    ShortPickReason,
)
from fulfillment.packing import pack_job_start, parcel_add, parcel_set_box
from fulfillment.picking import pick_batch_create, pick_job_start, pick_line_short, pick_line_tap
from fulfillment.pickup import pickups_expire
from fulfillment.rejection import line_problem_report, line_reject
from oms.core.pickup_offers import pickup_offer_token
from oms.demo.seed import demo_seed
from oms.demo.store_work import _pick_all, demo_store_work
from oms.feeds.exports import wms_requests_send
from oms.feeds.inventory import inventory_feed_import
from oms.feeds.wms import wms_feed_import
from oms.health import heartbeat_record
from oms.models import (
    BrokeringRun,
    FeedFile,
    FulfillmentRequest,
    Order,
    OrderLine,
    OutboxMessage,
    PickupAlternativeOffer,
    RejectionReason,
    RoutingRule,
)
from oms.orders.approval import orders_approve_pending
from oms.queues.parkings import lines_move_to_hold
from oms.routing.requests import request_create_manual
from oms.routing.runs import RUN_QUEUES, brokering_run
from stores.facility_settings import facility_settings_update
from stores.models import Facility, StoreMembership
from tests.url_walk import RAW, UrlWorld

PASSWORD = "walk-pass-123"


HOME = "NYC-01"  # the walk's store: the demo's seeding leaves its work untouched
# Stores the demo's seeding moved along (a picked order waiting at packing, a labelled one for the carrier):
# the walk's associate and manager work there too, for the pack and hand-over pages.
PACK_STORES = ("ATL-01", "AUS-01", "BOS-01", "CHI-01")
MANUAL_STORE = "NYC-02"  # operations review its requests (processing mode MANUAL)


@dataclass
class WalkDay:
    world: UrlWorld
    users: dict = field(default_factory=dict)  # role → user (None for anonymous)


def working_day() -> WalkDay:
    """The seeded demo after a day's work at the stores and at head office."""
    now = timezone.now()
    demo_seed()
    orders_approve_pending()
    brokering_run(queue="BROKERING", trigger="seed")
    demo_store_work()
    home = _home_store()
    associate, manager = _store_people(home)
    User = get_user_model()
    ops = User.objects.get(username="ops")
    admin = User.objects.get(username="admin")
    for user in (associate, manager, ops, admin):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    stores = {code: Facility.objects.get(code=code) for code in PACK_STORES}
    for store in stores.values():
        StoreMembership.objects.get_or_create(user=associate, facility=store, defaults={"role": "ASSOCIATE"})
        StoreMembership.objects.get_or_create(user=manager, facility=store, defaults={"role": "MANAGER"})
    ids = {"facility_id": home.pk, "version": None}

    # --- picking at the home store ----------------------------------------------------------------------------
    ship_jobs, pickup_jobs = _open_jobs(home)
    # An inventory feed: the products of the lines about to be short-picked and rejected are counted at zero
    # everywhere else (their lines become unfillable), three backordered products arrive at two stores.
    waiting = list(OrderLine.objects.filter(status=OrderLine.Status.QUEUED, queue__in=[
        OrderLine.Queue.BACKORDER, OrderLine.Queue.PRE_ORDER]).order_by("queue", "order_id", "pk")
        .select_related("product"))  # BACKORDER first
    first_per_order: dict[int, OrderLine] = {}
    for line in waiting:
        first_per_order.setdefault(line.order_id, line)
    backorders = list(first_per_order.values())[:3]
    assert len(backorders) == 3, "the demo has too few backorders and pre-orders for the walk"
    manual = Facility.objects.get(code=MANUAL_STORE)
    counted = timezone.now()  # after the seeding's own counts
    skus = {line.product.sku for job in ship_jobs[:2] for line in job.lines.select_related("product")}
    rows = [f"{code},{sku},0,{counted.isoformat()}"
            for sku in sorted(skus) for code in Facility.objects.exclude(pk=home.pk).values_list("code", flat=True)]
    rows += [f"{store.code},{line.product.sku},{line.quantity + 10},{counted.isoformat()}"
             for line in backorders for store in (home, manual)]
    inventory_feed_import(io.BytesIO("\n".join(["facility,sku,on_hand,counted_at", *rows, ""]).encode()),
                          name="walk-inventory.csv", source="walk", actor=ops, now=now)
    # Operations send two of them by hand to a store whose requests they review; one of those fails to send.
    facility_settings_update(facility_id=manual.pk, changes={"processing_mode": Facility.Processing.MANUAL}, actor=ops)
    for line in backorders[:2]:
        request = request_create_manual(order_id=line.order_id, facility_id=manual.pk, actor=ops, reason="walk")
    FulfillmentRequest.objects.filter(pk=request.pk).update(status=FulfillmentRequest.Status.FAILED,
                                                            error="walk: the store's system answered 503")

    reason = ShortPickReason.objects.order_by("position", "pk").first()
    shorted = ship_jobs.pop(0)  # a short pick: one unit picked where there are more, the rest short
    pick_job_start(job_id=shorted.pk, actor=associate, **ids)
    line = shorted.lines.order_by("pk").first()
    if line.quantity > 1:
        pick_line_tap(job_id=shorted.pk, actor=associate, line_id=line.pk, **ids)
    pick_line_short(job_id=shorted.pk, actor=associate, line_id=line.pk, reason_code=reason.code, **ids)
    rejection = RejectionReason.objects.order_by("position", "pk").first()
    rejected = ship_jobs.pop(0)  # a manager's rejection
    line_reject(facility_id=home.pk, actor=manager, pick_line_id=rejected.lines.order_by("pk").first().pk,
                reason_code=rejection.code, version=None)
    batched = [ship_jobs.pop(0), ship_jobs.pop(0)]  # a batch of two jobs
    pick_batch_create(facility_id=home.pk, job_ids=[job.pk for job in batched], picker_ids=[associate.pk],
                      actor=associate)
    in_progress = ship_jobs.pop(0)  # a job in progress with a problem reported
    pick_job_start(job_id=in_progress.pk, actor=associate, **ids)
    line_problem_report(facility_id=home.pk, actor=associate, note="Box torn open", version=None,
                        pick_line_id=in_progress.lines.order_by("pk").first().pk)
    # ship_jobs[0] stays open (to start). Both pickups are picked: one is collected with a refused item.
    for job in pickup_jobs[:2]:
        _pick_all(job, associate)
    collected = HandoverJob.objects.filter(facility=home, channel=HandoverJob.Channel.CUSTOMER,
                                           status=HandoverJob.Status.OPEN).order_by("pk").first()
    lines = list(OrderLine.objects.filter(order_id=collected.order_id, pickup_facility=home).order_by("pk"))
    pickup_hand_over(handover_id=collected.pk, facility_id=home.pk, actor=associate, version=None,
                     refused={lines[0].pk: "Wrong size"},
                     proof={"name": "Walk Customer", "relation": "SELF", "id_last4": "1234"})
    # A no-show elsewhere: its expiry is brought forward, the expiry task cancels it.
    no_show = HandoverJob.objects.filter(channel=HandoverJob.Channel.CUSTOMER, status=HandoverJob.Status.OPEN) \
        .exclude(facility=home).order_by("pk").first()
    HandoverJob.objects.filter(pk=no_show.pk).update(expires_at=now - timedelta(minutes=1))
    pickups_expire(now=now)

    # --- packing and hand-over at the stores the demo moved along ----------------------------------------------
    box = BoxType.objects.filter(is_active=True).order_by("-max_weight_grams").first()

    def packing(code):
        store = stores[code]
        job = PackJob.objects.filter(facility=store, status=PackJob.Status.OPEN).order_by("pk").first()
        pack_ids = {"pack_job_id": job.pk, "facility_id": store.pk, "actor": associate, "version": None}
        pack_job_start(**pack_ids)
        return job, pack_ids

    job, pack_ids = packing("AUS-01")  # packing: a box chosen, no label yet
    parcel_set_box(parcel_id=job.shipment.parcels.get().pk, box_type_id=box.pk, weight_grams=None, **pack_ids)
    job, pack_ids = packing("BOS-01")  # labelled, voided, labelled again, not closed
    parcel = job.shipment.parcels.get()
    parcel_set_box(parcel_id=parcel.pk, box_type_id=box.pk, weight_grams=None, **pack_ids)
    parcel_create_label(parcel_id=parcel.pk, **pack_ids)
    parcel_void_label(parcel_id=parcel.pk, **pack_ids)
    parcel_create_label(parcel_id=parcel.pk, **pack_ids)
    job, pack_ids = packing("CHI-01")  # an empty second parcel
    parcel_add(**pack_ids)
    closed = PackJob.objects.get(facility=stores["AUS-01"], status=PackJob.Status.CLOSED)
    shipment_issue_return_label(pack_job_id=closed.pk, facility_id=closed.facility_id, actor=associate, version=None)
    handover_scan(facility=stores["AUS-01"], tracking_number=closed.shipment.parcels.get().tracking_number,
                  actor=associate)

    # --- head office: feeds, runs of every queue, a parked line ------------------------------------------------
    _wms_acknowledgements(ops, now)
    for queue in RUN_QUEUES:
        brokering_run(queue=queue, trigger="command")
    unfillable = list(OrderLine.objects.filter(status=OrderLine.Status.QUEUED, queue=OrderLine.Queue.UNFILLABLE)
                      .order_by("pk").values_list("pk", flat=True)[:1])
    if unfillable:
        lines_move_to_hold(line_ids=unfillable, actor=ops, reason="Walk: waiting for the supplier", now=now)
        brokering_run(queue=OrderLine.Queue.UNFILLABLE_HOLD, trigger="command")
    # A message the shop refused, waiting for a person (what an outage of the shop leaves behind).
    OutboxMessage.objects.filter(pk=OutboxMessage.objects.order_by("pk").values("pk")[:1]).update(
        status=OutboxMessage.Status.FAILED, last_error="walk: 422 refused")

    world = _world(home, stores, associate=associate, manager=manager, in_progress=in_progress,
                   to_start=ship_jobs[0], backorder=backorders[2])
    return WalkDay(world=world, users={"anonymous": None, "associate": associate, "manager": manager,
                                       "operations": ops, "superuser": admin})


def _open_jobs(store: Facility) -> tuple[list[PickJob], list[PickJob]]:
    """The store's open (ship, pickup) pick jobs, earliest due first."""
    pickup_lines = PickLine.objects.filter(pick_job=OuterRef("pk"), order_line__pickup_facility__isnull=False)
    open_jobs = PickJob.objects.filter(facility=store, status=PickJob.Status.OPEN).order_by("due_at", "pk")
    return list(open_jobs.exclude(Exists(pickup_lines))), list(open_jobs.filter(Exists(pickup_lines)))


def _home_store() -> Facility:
    """HOME, or (should the demo route differently one day) the first other untouched store with enough work:
    six ship and two pickup jobs open."""
    untouched = Facility.objects.filter(kind=Facility.Kind.STORE, fulfilled_by_wms=False, memberships__isnull=False) \
        .exclude(code__in=[*PACK_STORES, MANUAL_STORE]).exclude(pack_jobs__isnull=False).distinct()
    for store in sorted(untouched, key=lambda store: (store.code != HOME, store.code)):
        ship, pickup = _open_jobs(store)
        if len(ship) >= 6 and len(pickup) >= 2:
            return store
    raise AssertionError("no demo store has enough open work for the walk")


def _store_people(facility: Facility):
    members = {m.role: m.user for m in StoreMembership.objects.filter(facility=facility).select_related("user")}
    return members[StoreMembership.Role.ASSOCIATE], members[StoreMembership.Role.MANAGER]


def _wms_acknowledgements(actor, now) -> None:
    """The warehouse with a WMS gets its requests (the export run) and acknowledges some of them in a WMS file,
    with one row of an unknown order rejected."""
    wms_requests_send(now=now)
    requests = FulfillmentRequest.objects.filter(facility__fulfilled_by_wms=True,
                                                 status=FulfillmentRequest.Status.PROCESSED).select_related("order",
                                                                                                              "facility")
    rows = [f"{request.order.name},{line.pk},{request.facility.code}\n"
            for request in requests.order_by("pk")[:3]
            for line in OrderLine.objects.filter(fulfillment_request=request).order_by("pk")]
    rows.append("#NO-SUCH,1,WH-EAST\n")
    wms_feed_import(FeedFile.Kind.ACKNOWLEDGEMENTS, io.BytesIO(("order,line_id,facility\n" + "".join(rows)).encode()),
                    name="walk-acks.csv", source="walk", actor=actor, now=now)


def _first(queryset, default=0):
    value = queryset.values_list("pk", flat=True).first()
    return value if value is not None else default


def _world(home: Facility, stores: dict, *, associate, manager, in_progress: PickJob, to_start: PickJob,
           backorder: OrderLine) -> UrlWorld:
    line = _first(PickLine.objects.filter(pick_job=in_progress, status="OPEN").order_by("pk"))
    batch = _first(PickBatch.objects.filter(facility=home).order_by("pk"))
    batch_line = _first(PickLine.objects.filter(pick_job__batch_id=batch, status="OPEN").order_by("pk"))
    handover = _first(HandoverJob.objects.filter(facility=home, status=HandoverJob.Status.OPEN,
                                                 channel=HandoverJob.Channel.CUSTOMER).order_by("pk"))
    order = Order.objects.filter(fulfillment_requests__facility=home).order_by("pk").first()
    offer = PickupAlternativeOffer.objects.filter(used_at__isnull=True).order_by("pk").first()

    def pack(code, status, **more):
        store = stores[code]
        job = PackJob.objects.filter(facility=store, status=status).order_by("pk").first()
        parcels = list(Parcel.objects.filter(shipment__pack_job=job).order_by("pk").values_list("pk", flat=True))
        return {"facility_code": code, "pack_job_id": job.pk, "parcel_id": parcels[-1], **more}

    packing = pack("AUS-01", PackJob.Status.IN_PROGRESS)  # a box chosen, no label
    labelled = pack("BOS-01", PackJob.Status.IN_PROGRESS)  # every parcel labelled, not closed
    two_parcels = pack("CHI-01", PackJob.Status.IN_PROGRESS)  # its last parcel is empty
    closed = pack("ATL-01", PackJob.Status.CLOSED)  # labelled and waiting for the carrier
    returned = pack("AUS-01", PackJob.Status.CLOSED)  # handed over, with a return label
    carrier = Parcel.objects.filter(shipment__facility=stores["ATL-01"]).exclude(carrier="").values_list(
        "carrier", flat=True).first()

    # Production's probes and sign-in lockouts (docs/deploy.md): a worker's heartbeat, and a username locked out.
    heartbeat_record()
    locked = AccessAttempt.objects.create(username="walk-locked", ip_address="203.0.113.9", user_agent="walk",
                                          failures_since_start=10, get_data="", post_data="", http_accept="*/*",
                                          path_info="/accounts/login/", attempt_time=timezone.now())
    shipped = Parcel.objects.filter(status=Parcel.Status.HANDED_OVER).exclude(tracking_number="").first()

    values = {
        "attempt_id": locked.pk,
        "facility_code": home.code, "job_id": in_progress.pk, "line_id": line, "batch_id": batch,
        "pack_job_id": closed["pack_job_id"], "parcel_id": closed["parcel_id"], "handover_id": handover,
        "task_id": _first(PutBackTask.objects.filter(facility=home, status="OPEN").order_by("pk")),
        "problem_id": _first(LineProblem.objects.filter(facility=home, status="OPEN").order_by("pk")),
        "carrier": carrier, "order_id": order.pk,
        "request_id": _first(FulfillmentRequest.objects.filter(order=order).order_by("pk")),
        "queue": OrderLine.Queue.REJECTED, "run_id": _first(BrokeringRun.objects.order_by("-pk")),
        "name": "broker-rejected", "rule_id": _first(RoutingRule.objects.order_by("position")),
        "facility_id": home.pk, "message_id": _first(OutboxMessage.objects.filter(status="FAILED")),
        "feed_id": _first(FeedFile.objects.order_by("pk")), "token": pickup_offer_token(offer),
        "app_label": "oms", "object_id": 1, "content_type_id": 1, "id": associate.pk,
    }
    waiting_request = to_start.fulfillment_request  # its pick job not started: it can be voided or regenerated
    unprocessed = FulfillmentRequest.objects.filter(status=FulfillmentRequest.Status.UNPROCESSED,
                                                    facility__code=MANUAL_STORE).order_by("pk").first()
    failed = FulfillmentRequest.objects.filter(status=FulfillmentRequest.Status.FAILED).order_by("pk").first()
    held = Order.objects.exclude(status__in=["APPROVED", "CANCELED", "COMPLETED"]).order_by("pk").first()
    per_pattern = {
        "fulfillment:pick-job-start": {"job_id": to_start.pk},
        "fulfillment:pick-line-problem": {"job_id": to_start.pk, "line_id": _first(to_start.lines.order_by("pk"))},
        **{f"console:{name}": {"order_id": waiting_request.order_id, "request_id": waiting_request.pk}
           for name in ("request_void", "request_regenerate")},
        "console:request_process": {"order_id": unprocessed.order_id, "request_id": unprocessed.pk},
        "console:request_retry": {"order_id": failed.order_id, "request_id": failed.pk},
        "console:order_approve": {"order_id": held.pk},
        "console:request_create": {"order_id": backorder.order_id},
        "fulfillment:pick-batch-tap": {"line_id": batch_line}, "fulfillment:pick-batch-short": {"line_id": batch_line},
        "fulfillment:pick-batch-reject": {"line_id": batch_line},
        "fulfillment:pack-job-start": {"facility_code": "ATL-01", "pack_job_id": _first(PackJob.objects.filter(
            facility=stores["ATL-01"], status=PackJob.Status.OPEN))},
        **{f"fulfillment:{name}": packing for name in (
            "pack-job", "pack-parcel-add", "pack-item-move", "pack-parcel-box", "pack-parcel-box-label",
            "pack-parcel-label", "pack-parcel-rates", "pack-shipment-service")},
        **{f"fulfillment:{name}": labelled for name in ("pack-job-close", "pack-parcel-void")},
        "fulfillment:pack-parcel-remove": two_parcels,
        "fulfillment:pack-return-label-pdf": returned,
        **{f"fulfillment:{name}": closed for name in (
            "pack-parcel-label-pdf", "pack-parcel-label-zpl", "pack-parcel-print", "pack-parcel-relabel",
            "pack-return-label", "pack-slip-pdf")},
        **{f"fulfillment:{name}": {"facility_code": "ATL-01"} for name in (
            "pack-queue", "handover-queue", "handover-scan", "handover-all", "handover-manifest")},
        "console:queue": [{"queue": queue} for queue in OrderLine.Queue],  # every queue's page
        "console:queue-hold": {"queue": OrderLine.Queue.UNFILLABLE},
        "console:queue-hold-csv": {"queue": OrderLine.Queue.UNFILLABLE},
        "console:queue-release": {"queue": OrderLine.Queue.BACKORDER},
        "console:queue-run": {"queue": OrderLine.Queue.BROKERING},
        **_admin_objects(),
    }
    return UrlWorld(values=values, per_pattern=per_pattern,
                    data=_post_data(home, manager=manager, offer=offer, shipped=shipped))


def _admin_objects() -> dict:
    """Each admin change/delete/history page gets an object of its own model."""
    from django.contrib import admin

    found = {}
    for model in admin.site._registry:
        pk = _first(model.objects.order_by("pk"), default=None)
        if pk is None:
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for action in ("change", "delete", "history"):
            found[f"{prefix}_{action}"] = {"object_id": pk}
    return found


def _version(model, pk) -> str:
    return str(model.objects.filter(pk=pk).values_list("version", flat=True).first() or 0)


def _post_data(facility: Facility, *, manager, offer: PickupAlternativeOffer, shipped: Parcel | None) -> dict:
    """Valid form data per POST pattern, read when the request is made (a job's version changes as the walk goes)."""
    reason = lambda: ShortPickReason.objects.order_by("position", "pk").values_list("code", flat=True).first()  # noqa: E731
    rejection = lambda: RejectionReason.objects.order_by("position", "pk").values_list("code", flat=True).first()  # noqa: E731
    box = lambda: str(_first(BoxType.objects.filter(is_active=True).order_by("-max_weight_grams")))  # noqa: E731

    def job(kwargs):
        return {"version": _version(PickJob, kwargs["job_id"])}

    def scan(kwargs):
        line = PickLine.objects.filter(pick_job_id=kwargs["job_id"], status="OPEN").select_related("product").first()
        return {**job(kwargs), "code": line.product.sku if line else "NO-SUCH"}

    def batch(kwargs):
        return {"version": str(PickBatch.objects.filter(pk=kwargs["batch_id"]).values_list("version", flat=True)
                               .first() or 0)}

    def batch_scan(kwargs):
        line = (PickLine.objects.filter(pick_job__batch_id=kwargs["batch_id"], status="OPEN")
                .select_related("product").first())
        return {**batch(kwargs), "code": line.product.sku if line else "NO-SUCH"}

    def pack(kwargs):
        return {"version": _version(PackJob, kwargs["pack_job_id"])}

    def handover(kwargs):
        return {"version": _version(HandoverJob, kwargs["handover_id"])}

    def labelled(kwargs):
        number = (Parcel.objects.filter(shipment__facility__code=kwargs["facility_code"], status="LABELED",
                                        shipment__pack_job__status=PackJob.Status.CLOSED)
                  .values_list("tracking_number", flat=True).first())
        return {"tracking_number": number or "NO-SUCH"}

    def item_move(kwargs):
        item = ParcelItem.objects.filter(parcel_id=kwargs["parcel_id"]).first()
        return {**pack(kwargs), "to": "new", "quantity": "1", "line": str(item.order_line_id if item else 0)}

    def hand_over(kwargs):
        return {**handover(kwargs), "collected_by": "Walk Customer", "collected_relation": "SELF",
                "collected_id_last4": "1234"}

    def order_lines(kwargs):
        ids = OrderLine.objects.filter(order_id=kwargs["order_id"]).exclude(status__in=["CANCELED", "FULFILLED"])
        return {"lines": [str(pk) for pk in ids.values_list("pk", flat=True)[:1]], "reason": "walk", "confirm": "on"}

    def hold(kwargs):
        ids = OrderLine.objects.filter(status="QUEUED", queue=OrderLine.Queue.UNFILLABLE).values_list("pk", flat=True)
        return {"lines": [str(pk) for pk in ids[:1]], "reason": "walk"}

    def schedule(kwargs):
        prefix = f"s-{kwargs['name']}"
        return {f"{prefix}-enabled": "on", f"{prefix}-every": "5", f"{prefix}-period": "minutes",
                f"{prefix}-queue": "REJECTED"}

    def facility_settings(kwargs):
        from oms.console.ops.forms import FacilitySettingsForm

        row = Facility.objects.get(pk=kwargs["facility_id"])
        initial = FacilitySettingsForm.initial_of(row)
        data = {key: ("on" if value is True else value) for key, value in initial.items()
                if value is not False and value is not None}
        return {**data, "confirm": "1"}

    def rule(kwargs):
        from django.forms.models import model_to_dict

        rule = RoutingRule.objects.get(pk=kwargs["rule_id"])
        data = {key: value for key, value in model_to_dict(rule).items() if value not in (None, False)}
        data = {key: ("on" if value is True else ",".join(value) if key == "channels" else value)
                for key, value in data.items()}
        return {**data, "action": "preview"}

    def alternatives(kwargs):
        return {"choice": "SHIP"}

    def tracker(kwargs):
        event = {"id": "evt_walk", "object": "Event", "description": "tracker.updated", "result": {
            "id": "trk_walk", "object": "Tracker", "tracking_code": shipped.tracking_number if shipped else "NONE",
            "tracking_details": [{"datetime": "2026-12-08T15:00:00Z", "status": "in_transit",
                                  "message": "Departed", "tracking_location": {"city": "Chicago"}}]}}
        body = json.dumps(event).encode()
        signature = "hmac-sha256-hex=" + hmac.new(settings.EASYPOST_WEBHOOK_SECRET.encode(), body,
                                                  hashlib.sha256).hexdigest()
        return {RAW: {"body": body, "content_type": "application/json", "headers": {"X-Hmac-Signature": signature}}}

    def webhook(kwargs):
        body = json.dumps(webhook_order()).encode()
        signature = base64.b64encode(hmac.new(settings.SHOPIFY_WEBHOOK_SECRET.encode(), body, hashlib.sha256)
                                     .digest()).decode()
        return {RAW: {"body": body, "content_type": "application/json",
                      "headers": {"X-Shopify-Hmac-Sha256": signature}}}

    def file(name, text):
        return lambda kwargs: {"file": _upload(name, text), "reason": "walk"}

    return {
        "choose-facility": lambda kwargs: {"facility": str(facility.pk)},
        "console:zone": lambda kwargs: {"zone": "UTC", "next": "/console/"},
        "console:outbox_retry": lambda kwargs: {"confirm": "on"},
        "console:outbox_retry_all": lambda kwargs: {"confirm": "on"},
        "console:feed_upload": file("walk.csv", "facility,sku,on_hand,counted_at\n"),
        "console:facility": facility_settings,
        "console:order_approve": lambda kwargs: {"reason": "walk"},
        "console:order_cancel": lambda kwargs: {"reason": "walk", "confirm": "on"},
        "console:order_lines_cancel": order_lines,
        "console:request_create": lambda kwargs: {"facility": str(facility.pk), "reason": "walk", "confirm": "on"},
        "console:request_void": lambda kwargs: {"reason": "walk", "confirm": "on"},
        "console:request_regenerate": lambda kwargs: {"reason": "walk", "confirm": "on"},
        "console:request_process": lambda kwargs: {"confirm": "on"},
        "console:request_retry": lambda kwargs: {"confirm": "on"},
        "console:queue-hold": hold,
        "console:queue-hold-csv": file("hold.csv", "order\n#NO-SUCH\n"),
        "console:queue-release": lambda kwargs: {"mode": "due", "confirm": "on"},
        "console:queue-run": lambda kwargs: {"confirm": "on"},
        "console:schedule-edit": schedule,
        "console:rule": rule,
        "console:rule-new": lambda kwargs: {"name": "Walk rule", "action": "preview"},
        "pickup-alternatives": alternatives,
        "fulfillment:pick-job-start": job,
        "fulfillment:pick-job-pause": job,
        "fulfillment:pick-job-scan": scan,
        "fulfillment:pick-line-tap": lambda kwargs: {**job(kwargs), "quantity": "1"},
        "fulfillment:pick-line-short": lambda kwargs: {**job(kwargs), "reason": reason()},
        "fulfillment:pick-job-reassign": lambda kwargs: {**job(kwargs), "assignee": str(manager.pk)},
        "fulfillment:pick-batch-new": lambda kwargs: {"jobs": [str(pk) for pk in PickJob.objects.filter(
            facility=facility, status="OPEN", batch__isnull=True).order_by("-pk").values_list("pk", flat=True)[:2]]},
        "fulfillment:pick-batch-scan": batch_scan,
        "fulfillment:pick-batch-tap": lambda kwargs: {**batch(kwargs), "quantity": "1"},
        "fulfillment:pick-batch-short": lambda kwargs: {**batch(kwargs), "reason": reason()},
        "fulfillment:pick-batch-reject": lambda kwargs: {**batch(kwargs), "reason": rejection()},
        "fulfillment:pack-job-start": pack, "fulfillment:pack-job-close": pack, "fulfillment:pack-parcel-add": pack,
        "fulfillment:pack-parcel-remove": pack, "fulfillment:pack-parcel-label": pack,
        "fulfillment:pack-parcel-void": pack, "fulfillment:pack-parcel-relabel": pack,
        "fulfillment:pack-return-label": pack,
        "fulfillment:pack-item-move": item_move,
        "fulfillment:pack-parcel-box": lambda kwargs: {**pack(kwargs), "box": box()},
        "fulfillment:pack-parcel-box-label": lambda kwargs: {**pack(kwargs), "box": box(), "weight": "900"},
        "fulfillment:pack-shipment-service": lambda kwargs: {**pack(kwargs), "service": "EXPRESS"},
        "fulfillment:handover-scan": labelled,
        "fulfillment:counter-hand-over": hand_over,
        "fulfillment:counter-shelf": lambda kwargs: {**handover(kwargs), "shelf": "B-2"},
        "fulfillment:counter-resend": handover,
        "fulfillment:pick-line-reject": lambda kwargs: {**job(kwargs), "reason": rejection()},
        "fulfillment:pick-line-problem": lambda kwargs: {**job(kwargs), "note": "Walk: torn box"},
        "fulfillment:problem-confirm": lambda kwargs: {"reason": rejection()},
        "login": lambda kwargs: {"username": "ops", "password": PASSWORD},
        "shopify-orders-create": webhook, "shopify-orders-updated": webhook, "shopify-orders-cancelled": webhook,
        "easypost-tracker-webhook": tracker,
    }


def webhook_order() -> dict:
    """A paid ship order as the shop's webhook sends it."""
    address = {"name": "Walk Customer", "address1": "1 Main St", "city": "Chicago", "zip": "60611",
               "province_code": "IL", "country_code": "US", "latitude": 41.89, "longitude": -87.62}
    return {"id": 7_300_000_001, "name": "#W1", "email": "walk@example.com", "financial_status": "paid",
            "created_at": "2026-11-20T10:00:00-06:00", "currency": "USD", "total_price": "24.00", "tags": "",
            "customer": {"first_name": "Walk", "last_name": "Customer", "email": "walk@example.com"},
            "shipping_address": address, "billing_address": address,
            "line_items": [{"id": 73_000_000_011, "sku": "NO-SUCH-SKU", "title": "Walk item", "quantity": 1,
                            "price": "24.00", "properties": []}]}


def _upload(name: str, text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


