"""Reads for the store's pages: what the facility has to do now."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from fulfillment.models import HandoverJob, PickJob
from stores.models import Facility


@dataclass
class StoreOverview:
    open_pick_jobs: int
    in_progress_pick_jobs: int
    overdue_pick_jobs: int
    ready_for_customer: int
    ready_for_carrier: int


def store_overview(*, facility: Facility, now: datetime) -> StoreOverview:
    picks = PickJob.objects.filter(facility=facility).aggregate(
        open=Count("pk", filter=Q(status=PickJob.Status.OPEN)),
        in_progress=Count("pk", filter=Q(status=PickJob.Status.IN_PROGRESS)),
        overdue=Count("pk", filter=Q(status__in=[PickJob.Status.OPEN, PickJob.Status.IN_PROGRESS], due_at__lt=now)),
    )
    handovers = HandoverJob.objects.filter(facility=facility, status=HandoverJob.Status.OPEN).aggregate(
        customer=Count("pk", filter=Q(channel=HandoverJob.Channel.CUSTOMER)),
        carrier=Count("pk", filter=Q(channel=HandoverJob.Channel.CARRIER)),
    )
    return StoreOverview(
        open_pick_jobs=picks["open"],
        in_progress_pick_jobs=picks["in_progress"],
        overdue_pick_jobs=picks["overdue"],
        ready_for_customer=handovers["customer"],
        ready_for_carrier=handovers["carrier"],
    )
