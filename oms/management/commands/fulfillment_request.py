"""Fulfillment requests by hand: preview routing, create at a chosen facility, void, regenerate, process, retry."""

from django.core.management.base import BaseCommand, CommandError

from oms.management.lookups import user_by_username
from oms.models import FulfillmentRequest, Order, OrderLine
from oms.routing.explain import decision_in_words
from oms.routing.requests import (
    RequestError,
    request_create_manual,
    request_preview,
    request_process,
    request_regenerate,
    request_retry,
    request_void,
)
from stores.models import Facility


class Command(BaseCommand):
    help = (
        "preview ORDER | create ORDER FACILITY_CODE [--line ID[:QTY] ...] --reason R | void NUMBER --reason R | "
        "regenerate NUMBER --reason R | process NUMBER | retry NUMBER  (ORDER: name like #1001; NUMBER: #1001-2)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="USERNAME", help="who is acting (shown on the timeline)")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        preview = actions.add_parser("preview", help="what routing would decide now (writes nothing)")
        preview.add_argument("order", help="order name, e.g. #1001")
        create = actions.add_parser("create", help="send QUEUED lines to a facility of your choice")
        create.add_argument("order", help="order name, e.g. #1001")
        create.add_argument("facility", help="facility code, e.g. CHI-01")
        create.add_argument("--line", action="append", metavar="ID[:QTY]", help="line id, optionally with the "
                            "units to send (repeatable; default: every QUEUED line, whole)")
        create.add_argument("--reason", required=True)
        for name, text in (("void", "cancel a request no store has started on; its lines go back to BROKERING"),
                           ("regenerate", "void, then route the order's lines again")):
            action = actions.add_parser(name, help=text)
            action.add_argument("number", help="request number, e.g. #1001-1")
            action.add_argument("--reason", required=True)
        for name, text in (("process", "send an UNPROCESSED request to its store"),
                           ("retry", "send a FAILED request again")):
            actions.add_parser(name, help=text).add_argument("number", help="request number, e.g. #1001-1")

    def handle(self, *args, **options):
        actor = user_by_username(options.get("user"))
        action = options["action"]
        try:
            if action == "preview":
                self._preview(_order(options["order"]))
            elif action == "create":
                order, facility = _order(options["order"]), _facility(options["facility"])
                request = request_create_manual(
                    order_id=order.pk, facility_id=facility.pk, line_quantities=_line_quantities(options["line"]),
                    actor=actor, reason=options["reason"],
                )
                self.stdout.write(f"created {request.number} at {facility.code} ({request.status})")
            elif action == "void":
                request = request_void(request_id=_request(options["number"]).pk, actor=actor,
                                       reason=options["reason"])
                self.stdout.write(f"voided {request.number}: its lines are back in BROKERING")
            elif action == "regenerate":
                request = _request(options["number"])
                decision = request_regenerate(request_id=request.pk, actor=actor, reason=options["reason"])
                words = decision_in_words(decision) if decision else "nothing left to route"
                self.stdout.write(f"voided {request.number} and routed again: {words}")
            else:
                send = request_process if action == "process" else request_retry
                request = send(request_id=_request(options["number"]).pk, actor=actor)
                self.stdout.write(f"{request.number} is {request.status}")
        except RequestError as exc:
            raise CommandError(str(exc)) from exc

    def _preview(self, order: Order) -> None:
        decisions = request_preview(order_id=order.pk)
        if not decisions:
            self.stdout.write(f"{order.name}: no line waits in a queue routing takes")
        for decision in decisions:
            self.stdout.write(f"{order.name}: {decision.outcome}: {decision_in_words(decision)}")


def _order(name: str) -> Order:
    name = name.strip()
    found = list(Order.objects.filter(name__in=[name] if name.startswith("#") else [name, f"#{name}"])[:2])
    if not found:
        raise CommandError(f"No order {name!r}.")
    if len(found) > 1:
        raise CommandError(f"Several orders are named {name!r}.")
    return found[0]


def _facility(code: str) -> Facility:
    facility = Facility.objects.filter(code=code.strip()).first()
    if facility is None:
        raise CommandError(f"No facility {code!r}.")
    return facility


def _request(number: str) -> FulfillmentRequest:
    number = number.strip()
    request = FulfillmentRequest.objects.filter(number=number).first()
    if request is None and not number.startswith("#"):
        request = FulfillmentRequest.objects.filter(number=f"#{number}").first()
    if request is None:
        raise CommandError(f"No fulfillment request {number!r}.")
    return request


def _line_quantities(values: list[str] | None) -> dict[int, int] | None:
    """--line values ("12" = the whole line, "13:2" = two units of it) as {line id: units}; None without any."""
    if not values:
        return None
    parsed: dict[int, int | None] = {}
    for value in values:
        line_id, _, quantity = value.partition(":")
        try:
            parsed[int(line_id)] = int(quantity) if quantity else None
        except ValueError as exc:
            raise CommandError(f"--line {value!r}: give a line id, optionally with units, e.g. 12 or 12:2.") from exc
    # A line named without units is sent whole; the service checks the line again under its lock.
    whole = dict(OrderLine.objects.filter(pk__in=list(parsed)).values_list("pk", "quantity"))
    return {line_id: whole.get(line_id, 0) if units is None else units for line_id, units in parsed.items()}
