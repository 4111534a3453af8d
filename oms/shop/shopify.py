"""The SHOP destination as Shopify's Admin GraphQL API (docs/shopify.md), behind the outbox adapter interface.

Chosen with `SHOP_SYNC_ADAPTER=oms.shop.shopify.ShopifyAdapter` and configured by SHOPIFY_SHOP_DOMAIN,
SHOPIFY_ADMIN_TOKEN and SHOPIFY_API_VERSION; each facility names its Shopify location (`Facility.shop_location_id`).

Per message kind (docs/shop-messages.md):
- `fulfillment`: reads the order's fulfillment orders, then `fulfillmentCreate` for the shipped lines at the
  facility's location, with tracking (company, numbers, URLs); the customer is notified per SHOPIFY_NOTIFY_CUSTOMER
  (never for a pickup handed over at the counter);
- `pickup-ready` (only when PICKUP_READY_NOTIFIED_BY is "shop"): `fulfillmentOrderLineItemsPreparedForPickup`,
  so Shopify emails the customer instead of us;
- `order-canceled`: `orderCancel` (refund per SHOPIFY_CANCEL_REFUND, no restock: stock is ours);
- `lines-canceled`: an order edit (`orderEditBegin`, `orderEditSetQuantity` to the units left, `orderEditCommit`);
- `order-completed`, `lines-unfillable`: nothing to do in Shopify (it completes an order by itself).

Every step is safe to repeat, because a message is sent again after a crash between Shopify's answer and our
commit: fulfillments take only what is still unfulfilled, an order already canceled is left alone, and line
edits set the quantity left rather than subtract.

Rate limits: Shopify answers a throttled query with the error code THROTTLED and the cost in
`extensions.cost`; the message is tried again once enough points are restored (Retry-After from the cost and
the restore rate). GraphQL `userErrors` are refusals (FAILED, with the messages kept).
"""

from __future__ import annotations

import http.client
import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime

from oms.models import OutboxMessage
from oms.outbox.adapters import PermanentDeliveryError, TemporaryDeliveryError
from oms.outbox.shop_webhook import retry_after_seconds
from stores.models import Facility


def gid(kind: str, number: str | int) -> str:
    """Shopify's global id of an object, e.g. gid("Order", 5000123) → "gid://shopify/Order/5000123"."""
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: str) -> str:
    return value.rsplit("/", 1)[-1]


class ShopifyClient:
    """POSTs GraphQL documents to the Admin API; turns transport, throttling and GraphQL errors into delivery
    errors (temporary or permanent) and returns `data`."""

    def __init__(self, *, endpoint: str, token: str, timeout: float):
        self.endpoint, self.token, self.timeout = endpoint, token, timeout

    def run(self, document: str, variables: dict, *, operation: str) -> dict:
        body = json.dumps({"query": document, "variables": variables, "operationName": operation}).encode()
        request = urllib.request.Request(self.endpoint, data=body, method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json",
            "X-Shopify-Access-Token": self.token, "User-Agent": "Storefill-Outbox/1",
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read(1000).decode("utf-8", "replace")
            described = f"{operation}: HTTP {exc.code}: {text}"
            if exc.code == 429 or exc.code >= 500:
                raise TemporaryDeliveryError(described,
                                             retry_after=retry_after_seconds(exc.headers.get("Retry-After"))) from exc
            raise PermanentDeliveryError(described) from exc
        except TimeoutError as exc:
            raise TemporaryDeliveryError(f"{operation}: no answer within {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            raise TemporaryDeliveryError(f"{operation}: cannot reach Shopify: {exc.reason}") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TemporaryDeliveryError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        errors = answer.get("errors") or []
        if any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors):
            raise TemporaryDeliveryError(f"{operation}: throttled by Shopify", retry_after=throttle_wait(answer))
        if errors:
            raise PermanentDeliveryError(f"{operation}: " + "; ".join(error.get("message", "?") for error in errors))
        return answer.get("data") or {}


def shopify_client() -> ShopifyClient:
    """The Admin API client of the configured shop (SHOPIFY_SHOP_DOMAIN, SHOPIFY_ADMIN_TOKEN, SHOPIFY_API_VERSION;
    SHOPIFY_GRAPHQL_URL replaces the endpoint, e.g. in tests)."""
    if not settings.SHOPIFY_SHOP_DOMAIN or not settings.SHOPIFY_ADMIN_TOKEN:
        raise ImproperlyConfigured("Shopify needs SHOPIFY_SHOP_DOMAIN and SHOPIFY_ADMIN_TOKEN")
    endpoint = settings.SHOPIFY_GRAPHQL_URL or (
        f"https://{settings.SHOPIFY_SHOP_DOMAIN}/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json")
    return ShopifyClient(endpoint=endpoint, token=settings.SHOPIFY_ADMIN_TOKEN, timeout=settings.SHOP_SYNC_TIMEOUT)


def throttle_wait(answer: dict) -> float:
    """Seconds until a throttled query's cost is restored: (requested − available) / restore rate."""
    cost = (answer.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 0) or 50.0
    return max(1.0, math.ceil(max(0.0, requested - available) / rate))


def user_errors(payload: dict, *keys: str) -> list[str]:
    """The messages of a mutation payload's userErrors (or e.g. orderCancelUserErrors)."""
    found = []
    for key in keys or ("userErrors",):
        for error in payload.get(key) or []:
            field = ".".join(error.get("field") or [])
            found.append(f"{field}: {error.get('message')}" if field else str(error.get("message")))
    return found


def refuse_on_user_errors(operation: str, payload: dict | None, *keys: str) -> dict:
    if payload is None:
        raise PermanentDeliveryError(f"{operation}: no answer for the mutation")
    problems = user_errors(payload, *keys)
    if problems:
        raise PermanentDeliveryError(f"{operation}: " + "; ".join(problems))
    return payload


FULFILLMENT_ORDERS = """
query StorefillFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    cancelledAt
    fulfillmentOrders(first: 50) {
      nodes {
        id
        status
        assignedLocation { location { id } }
        lineItems(first: 250) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation StorefillFulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

PREPARED_FOR_PICKUP = """
mutation StorefillPreparedForPickup($input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
  fulfillmentOrderLineItemsPreparedForPickup(input: $input) {
    userErrors { field message }
  }
}
"""

ORDER_CANCEL = """
mutation StorefillOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
                              $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
              notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

ORDER_EDIT_BEGIN = """
mutation StorefillOrderEditBegin($id: ID!) {
  orderEditBegin(id: $id) {
    calculatedOrder { id lineItems(first: 250) { nodes { id quantity } } }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_SET_QUANTITY = """
mutation StorefillOrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!, $restock: Boolean) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: $restock) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_COMMIT = """
mutation StorefillOrderEditCommit($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {
  orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}
"""

ORDER_FULFILLMENTS = """
query StorefillOrderFulfillments($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 50) {
      id
      trackingInfo(first: 10) { number }
      events(first: 100) { nodes { status happenedAt } }
    }
  }
}
"""

FULFILLMENT_EVENT_CREATE = """
mutation StorefillFulfillmentEventCreate($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent { id status }
    userErrors { field message }
  }
}
"""

OPEN_FULFILLMENT_ORDERS = {"OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"}


class ShopifyAdapter:
    """Delivers SHOP outbox messages to Shopify (see the module docstring)."""

    def __init__(self):
        self.client = shopify_client()

    def deliver(self, message: OutboxMessage) -> None:
        handler = {
            "fulfillment": self.fulfill,
            "pickup-ready": self.prepared_for_pickup,
            "order-canceled": self.cancel_order,
            "lines-canceled": self.cancel_lines,
            "fulfillment-event": self.fulfillment_event,
        }.get(message.kind)
        if handler is not None:
            handler(message.payload)
        # order-completed, lines-unfillable: Shopify has nothing to record for them.

    # --- fulfillment ------------------------------------------------------------------------------------
    def fulfillment_orders(self, external_id: str) -> dict:
        data = self.client.run(FULFILLMENT_ORDERS, {"id": gid("Order", external_id)},
                               operation="StorefillFulfillmentOrders")
        order = data.get("order")
        if order is None:
            raise PermanentDeliveryError(f"Shopify has no order {external_id}")
        return order

    def fulfill(self, payload: dict) -> None:
        order = self.fulfillment_orders(payload["external_id"])
        location = location_gid(payload.get("facility"))
        by_fulfillment_order = pick_fulfillment_order_lines(order, payload["lines"], location=location)
        # One fulfillment per location (Shopify's rule); nothing left means an earlier send went through.
        locations = {node["id"]: _location(node) for node in order["fulfillmentOrders"]["nodes"]}
        groups: dict[str | None, dict[str, list]] = {}
        for order_id, lines in by_fulfillment_order.items():
            groups.setdefault(locations[order_id], {})[order_id] = lines
        parcels = payload.get("parcels") or []
        carrier = payload.get("carrier") or {}
        for group in groups.values():
            fulfillment: dict = {
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": order_id, "fulfillmentOrderLineItems": lines}
                    for order_id, lines in group.items()
                ],
                "notifyCustomer": bool(settings.SHOPIFY_NOTIFY_CUSTOMER and parcels),
            }
            if parcels:
                fulfillment["trackingInfo"] = {
                    "company": carrier.get("name") or carrier.get("code") or "",
                    "numbers": [parcel["tracking_number"] for parcel in parcels],
                    "urls": [parcel["tracking_url"] for parcel in parcels if parcel.get("tracking_url")],
                }
            data = self.client.run(FULFILLMENT_CREATE, {"fulfillment": fulfillment, "message": None},
                                   operation="StorefillFulfillmentCreate")
            refuse_on_user_errors("fulfillmentCreate", data.get("fulfillmentCreate"))

    def prepared_for_pickup(self, payload: dict) -> None:
        order = self.fulfillment_orders(payload["external_id"])
        location = location_gid(payload.get("facility"))
        ids = [node["id"] for node in order["fulfillmentOrders"]["nodes"]
               if node["status"] in OPEN_FULFILLMENT_ORDERS and _at(node, location)]
        if not ids:
            return
        data = self.client.run(PREPARED_FOR_PICKUP, {"input": {"lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": order_id} for order_id in ids]}}, operation="StorefillPreparedForPickup")
        refuse_on_user_errors("fulfillmentOrderLineItemsPreparedForPickup",
                              data.get("fulfillmentOrderLineItemsPreparedForPickup"))

    def fulfillment_event(self, payload: dict) -> None:
        """A carrier's scan on the fulfillment that carries its tracking number; a scan Shopify already has (the
        same status at the same time: an earlier send) is not added again."""
        data = self.client.run(ORDER_FULFILLMENTS, {"id": gid("Order", payload["external_id"])},
                               operation="StorefillOrderFulfillments")
        order = data.get("order")
        if order is None:
            raise PermanentDeliveryError(f"Shopify has no order {payload['external_id']}")
        number = payload["tracking_number"]
        fulfillment = next((item for item in order.get("fulfillments") or []
                            if number in {info.get("number") for info in item.get("trackingInfo") or []}), None)
        if fulfillment is None:
            raise PermanentDeliveryError(f"Shopify's order {payload['external_id']} has no fulfillment with "
                                         f"tracking number {number}")
        happened = payload["happened_at"]
        for event in (fulfillment.get("events") or {}).get("nodes") or []:
            if event.get("status") == payload["status"] and _same_moment(event.get("happenedAt"), happened):
                return
        event = {"fulfillmentId": fulfillment["id"], "status": payload["status"], "happenedAt": happened}
        for key, name in (("message", "message"), ("city", "city"), ("country", "country")):
            if payload.get(key):
                event[name] = payload[key]
        data = self.client.run(FULFILLMENT_EVENT_CREATE, {"fulfillmentEvent": event},
                               operation="StorefillFulfillmentEventCreate")
        refuse_on_user_errors("fulfillmentEventCreate", data.get("fulfillmentEventCreate"))

    # --- cancellations ---------------------------------------------------------------------------------
    def cancel_order(self, payload: dict) -> None:
        order = self.fulfillment_orders(payload["external_id"])
        if order.get("cancelledAt"):
            return  # canceled already (by an earlier send, or in Shopify itself)
        data = self.client.run(ORDER_CANCEL, {
            "orderId": gid("Order", payload["external_id"]), "reason": "OTHER",
            "refund": bool(settings.SHOPIFY_CANCEL_REFUND), "restock": False,
            "notifyCustomer": bool(settings.SHOPIFY_NOTIFY_CUSTOMER),
            "staffNote": f"Storefill: {payload.get('reason') or 'canceled'}"[:255],
        }, operation="StorefillOrderCancel")
        refuse_on_user_errors("orderCancel", data.get("orderCancel"), "orderCancelUserErrors")

    def cancel_lines(self, payload: dict) -> None:
        data = self.client.run(ORDER_EDIT_BEGIN, {"id": gid("Order", payload["external_id"])},
                               operation="StorefillOrderEditBegin")
        begun = refuse_on_user_errors("orderEditBegin", data.get("orderEditBegin"))
        calculated = begun["calculatedOrder"]
        current = {gid_number(node["id"]): node["quantity"] for node in calculated["lineItems"]["nodes"]}
        changed = False
        for line in payload["lines"]:
            left = line.get("remaining")
            number = str(line["external_line_id"])
            if left is None or number not in current or current[number] <= left:
                continue  # already edited down (an earlier send), or a line Shopify does not have
            data = self.client.run(ORDER_EDIT_SET_QUANTITY, {
                "id": calculated["id"], "lineItemId": gid("CalculatedLineItem", number), "quantity": left,
                "restock": False,
            }, operation="StorefillOrderEditSetQuantity")
            refuse_on_user_errors("orderEditSetQuantity", data.get("orderEditSetQuantity"))
            changed = True
        if not changed:
            return  # an edit begun and not committed changes nothing in Shopify
        data = self.client.run(ORDER_EDIT_COMMIT, {
            "id": calculated["id"], "notifyCustomer": bool(settings.SHOPIFY_NOTIFY_CUSTOMER),
            "staffNote": f"Storefill: {payload.get('reason') or 'items canceled'}"[:255],
        }, operation="StorefillOrderEditCommit")
        refuse_on_user_errors("orderEditCommit", data.get("orderEditCommit"))


def location_gid(facility_code: str | None) -> str | None:
    """The Shopify location of a facility (None: the facility has no location id, any location will do)."""
    if not facility_code:
        return None
    number = Facility.objects.filter(code=facility_code).values_list("shop_location_id", flat=True).first()
    return gid("Location", number) if number else None


def _location(node: dict) -> str | None:
    return ((node.get("assignedLocation") or {}).get("location") or {}).get("id")


def _at(node: dict, location: str | None) -> bool:
    return location is None or _location(node) == location


def pick_fulfillment_order_lines(order: dict, lines: Iterable[dict], *, location: str | None) -> dict[str, list]:
    """Which fulfillment order line items (and how many of each) fulfil `lines` ([{external_line_id, quantity}]):
    open fulfillment orders at the location first, then any open one; never more than remains unfulfilled."""
    nodes = [node for node in order["fulfillmentOrders"]["nodes"] if node["status"] in OPEN_FULFILLMENT_ORDERS]
    nodes.sort(key=lambda node: not _at(node, location))
    remaining = {item["id"]: item["remainingQuantity"] for node in nodes for item in node["lineItems"]["nodes"]}
    chosen: dict[str, dict[str, int]] = {}
    for line in lines:
        wanted = int(line["quantity"])
        line_gid = gid("LineItem", line["external_line_id"])
        for node in nodes:
            for item in node["lineItems"]["nodes"]:
                if wanted <= 0:
                    break
                if item["lineItem"]["id"] != line_gid or remaining[item["id"]] <= 0:
                    continue
                take = min(wanted, remaining[item["id"]])
                remaining[item["id"]] -= take
                wanted -= take
                per_order = chosen.setdefault(node["id"], {})
                per_order[item["id"]] = per_order.get(item["id"], 0) + take
    return {order_id: [{"id": item_id, "quantity": quantity} for item_id, quantity in items.items()]
            for order_id, items in chosen.items()}


def _same_moment(one: str | None, other: str | None) -> bool:
    first, second = parse_datetime(one or ""), parse_datetime(other or "")
    return first is not None and second is not None and first == second
