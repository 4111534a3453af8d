"""A local stand-in for Shopify's Admin GraphQL endpoint, owned by the tests.

It keeps a few orders (line items, fulfillment orders at locations, fulfillments, cancellation), answers the
operations oms.shop.shopify sends with Shopify's response shapes, and is strict the way Shopify is: it checks
the access token, that each document is the operation it claims (its root field and arguments), and each
variable's shape and type — a wrong one gets Shopify's `errors` answer (INVALID_VARIABLE), not a pass.
It can throttle (`throttle_next`: the next N requests get THROTTLED with the cost in `extensions.cost`) and
answer `userErrors` (`user_errors_next[operation]`). `calls` records (operation, variables) in order.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "shpat_fake_token"
_ids = itertools.count(900001)

OPERATIONS = {  # operationName → what its document must contain
    "StorefillFulfillmentOrders": ["query StorefillFulfillmentOrders($id: ID!)", "order(id: $id)",
                                   "fulfillmentOrders(", "remainingQuantity", "lineItem { id }", "cancelledAt"],
    "StorefillFulfillmentCreate": ["mutation StorefillFulfillmentCreate($fulfillment: FulfillmentInput!",
                                   "fulfillmentCreate(fulfillment: $fulfillment", "userErrors { field message }"],
    "StorefillPreparedForPickup": ["$input: FulfillmentOrderLineItemsPreparedForPickupInput!",
                                   "fulfillmentOrderLineItemsPreparedForPickup(input: $input)", "userErrors"],
    "StorefillOrderCancel": ["$orderId: ID!", "$reason: OrderCancelReason!", "$refund: Boolean!",
                             "$restock: Boolean!", "orderCancel(orderId: $orderId", "orderCancelUserErrors"],
    "StorefillOrderEditBegin": ["orderEditBegin(id: $id)", "calculatedOrder", "userErrors"],
    "StorefillOrderEditSetQuantity": ["$lineItemId: ID!", "$quantity: Int!",
                                      "orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity",
                                      "userErrors"],
    "StorefillOrderEditCommit": ["orderEditCommit(id: $id", "userErrors"],
    "StorefillOrdersUpdated": ["query StorefillOrdersUpdated($first: Int!, $after: String, $query: String!)",
                               "orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT)",
                               "pageInfo { hasNextPage endCursor }", "legacyResourceId", "lineItems(first: 250)"],
}
OPERATIONS["StorefillOrderFulfillments"] = ["query StorefillOrderFulfillments($id: ID!)", "order(id: $id)",
                                            "fulfillments(first:", "trackingInfo(first:", "number",
                                            "events(first:", "status happenedAt"]
OPERATIONS["StorefillFulfillmentEventCreate"] = [
    "mutation StorefillFulfillmentEventCreate($fulfillmentEvent: FulfillmentEventInput!)",
    "fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent)", "userErrors { field message }"]
EVENT_STATUSES = {"ATTEMPTED_DELIVERY", "CARRIER_PICKED_UP", "CONFIRMED", "DELAYED", "DELIVERED", "FAILURE",
                  "IN_TRANSIT", "LABEL_PRINTED", "LABEL_PURCHASED", "OUT_FOR_DELIVERY", "PICKED_UP",
                  "READY_FOR_PICKUP"}
CANCEL_REASONS = {"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"}


class Invalid(Exception):
    """A variable Shopify would refuse."""


@dataclass
class ShopOrder:
    external_id: str
    quantities: dict[str, int]  # line item number → ordered quantity
    locations: dict[str, str]  # line item number → location number it is assigned to
    fulfilled: dict[str, int] = field(default_factory=dict)
    fulfillments: list[dict] = field(default_factory=list)
    cancelled: bool = False
    cancel: dict | None = None
    prepared_for_pickup: list[str] = field(default_factory=list)

    def fulfillment_orders(self) -> list[dict]:
        """One fulfillment order per location, its line items with what remains to fulfil."""
        by_location: dict[str, list[str]] = {}
        for number, location in self.locations.items():
            by_location.setdefault(location, []).append(number)
        nodes = []
        for location, numbers in sorted(by_location.items()):
            remaining = {n: self.quantities[n] - self.fulfilled.get(n, 0) for n in numbers}
            status = "CLOSED" if self.cancelled else ("OPEN" if any(remaining.values()) else "CLOSED")
            nodes.append({
                "id": f"gid://shopify/FulfillmentOrder/{self.external_id}{location}",
                "status": status,
                "assignedLocation": {"location": {"id": f"gid://shopify/Location/{location}"}},
                "lineItems": {"nodes": [
                    {"id": f"gid://shopify/FulfillmentOrderLineItem/{n}", "remainingQuantity": remaining[n],
                     "lineItem": {"id": f"gid://shopify/LineItem/{n}"}} for n in numbers
                ]},
            })
        return nodes


class FakeShopify:
    def __init__(self):
        self.lock = threading.Lock()
        self.orders: dict[str, ShopOrder] = {}
        self.calls: list[tuple[str, dict]] = []
        self.throttle_next = 0
        self.user_errors_next: dict[str, list[dict]] = {}
        self.edits: dict[str, dict] = {}
        self.pullable: list[dict] = []  # GraphQL Order nodes the orders query answers with (see order_node)
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                shop._handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/admin/api/2025-01/graphql.json"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_order(self, external_id: str, lines: dict[str, int], *, location: str = "70001",
                  locations: dict[str, str] | None = None) -> ShopOrder:
        order = ShopOrder(external_id=str(external_id), quantities={str(k): v for k, v in lines.items()},
                          locations={str(k): (locations or {}).get(str(k), location) for k in lines})
        self.orders[order.external_id] = order
        return order

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    # --- the endpoint ------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if handler.headers.get("X-Shopify-Access-Token") != TOKEN:
            return self._send(handler, 401, {"errors": "[API] Invalid API key or access token"})
        request = json.loads(raw)
        name, document, variables = request.get("operationName"), request.get("query", ""), request.get("variables")
        with self.lock:
            self.calls.append((name, variables))
            cost = {"requestedQueryCost": 12, "actualQueryCost": 12,
                    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1988.0, "restoreRate": 100.0}}
            if self.throttle_next:
                self.throttle_next -= 1
                cost = {"requestedQueryCost": 250, "actualQueryCost": None, "throttleStatus": {
                    "maximumAvailable": 2000.0, "currentlyAvailable": 50.0, "restoreRate": 100.0}}
                return self._send(handler, 200, {"errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": cost}})
            try:
                if name not in OPERATIONS:
                    raise Invalid(f"unknown operation {name!r}")
                missing = [text for text in OPERATIONS[name] if _squash(text) not in _squash(document)]
                if missing:
                    raise Invalid(f"{name}: the document lacks {missing}")
                data = getattr(self, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())(variables or {})
            except Invalid as exc:
                return self._send(handler, 200, {"errors": [{"message": str(exc),
                                                             "extensions": {"code": "INVALID_VARIABLE"}}]})
        self._send(handler, 200, {"data": data, "extensions": {"cost": cost}})

    def _send(self, handler, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _user_errors(self, name: str) -> list[dict]:
        return self.user_errors_next.pop(name, [])

    def _order(self, value, kind: str = "Order") -> ShopOrder:
        number = _gid(value, kind)
        if number not in self.orders:
            raise Invalid(f"no {kind} {value}")
        return self.orders[number]

    # --- operations ------------------------------------------------------------------------------------
    def _storefill_fulfillment_orders(self, variables: dict) -> dict:
        _only(variables, {"id"})
        number = _gid(variables["id"], "Order")
        order = self.orders.get(number)
        if order is None:
            return {"order": None}
        return {"order": {"id": variables["id"], "cancelledAt": "2026-01-01T00:00:00Z" if order.cancelled else None,
                          "fulfillmentOrders": {"nodes": order.fulfillment_orders()}}}

    def _storefill_fulfillment_create(self, variables: dict) -> dict:
        _only(variables, {"fulfillment", "message"}, required={"fulfillment"})
        fulfillment = variables["fulfillment"]
        _only(fulfillment, {"lineItemsByFulfillmentOrder", "notifyCustomer", "trackingInfo", "originAddress"},
              required={"lineItemsByFulfillmentOrder"})
        if "trackingInfo" in fulfillment:
            info = fulfillment["trackingInfo"]
            _only(info, {"company", "number", "numbers", "url", "urls"}, required=set())
            if not all(isinstance(n, str) and n for n in info.get("numbers", [])):
                raise Invalid("trackingInfo.numbers must be non-empty strings")
        errors = self._user_errors("fulfillmentCreate")
        if errors:
            return {"fulfillmentCreate": {"fulfillment": None, "userErrors": errors}}
        groups = fulfillment["lineItemsByFulfillmentOrder"]
        plans = []
        locations = set()
        for group in groups:
            _only(group, {"fulfillmentOrderId", "fulfillmentOrderLineItems"}, required={"fulfillmentOrderId"})
            fo_number = _gid(group["fulfillmentOrderId"], "FulfillmentOrder")
            order = next((o for o in self.orders.values() for node in o.fulfillment_orders()
                          if node["id"].endswith("/" + fo_number)), None)
            if order is None:
                raise Invalid(f"no fulfillment order {group['fulfillmentOrderId']}")
            node = next(n for n in order.fulfillment_orders() if n["id"].endswith("/" + fo_number))
            locations.add(node["assignedLocation"]["location"]["id"])
            for item in group.get("fulfillmentOrderLineItems") or []:
                _only(item, {"id", "quantity"}, required={"id", "quantity"})
                if not isinstance(item["quantity"], int) or item["quantity"] <= 0:
                    raise Invalid("fulfillmentOrderLineItems.quantity must be a positive Int")
                number = _gid(item["id"], "FulfillmentOrderLineItem")
                remaining = order.quantities[number] - order.fulfilled.get(number, 0)
                if item["quantity"] > remaining:
                    return _refused("fulfillmentCreate", "Invalid fulfillment order line item quantity requested.")
                plans.append((order, number, item["quantity"]))
        if len(locations) > 1:
            return _refused("fulfillmentCreate", "All fulfillment orders must be assigned to the same location.")
        for order, number, quantity in plans:
            order.fulfilled[number] = order.fulfilled.get(number, 0) + quantity
        fulfillment_id = f"gid://shopify/Fulfillment/{next(_ids)}"
        if plans:
            plans[0][0].fulfillments.append({"id": fulfillment_id, "lines": {n: q for _, n, q in plans},
                                             "tracking": fulfillment.get("trackingInfo"),
                                             "notify": fulfillment.get("notifyCustomer", False)})
        return {"fulfillmentCreate": {"fulfillment": {"id": fulfillment_id, "status": "SUCCESS"}, "userErrors": []}}

    def _storefill_order_fulfillments(self, variables: dict) -> dict:
        _only(variables, {"id"})
        order = self.orders.get(_gid(variables["id"], "Order"))
        if order is None:
            return {"order": None}
        return {"order": {"id": variables["id"], "fulfillments": [
            {"id": item["id"], "trackingInfo": [{"number": n} for n in (item.get("tracking") or {}).get("numbers", [])],
             "events": {"nodes": [{"status": e["status"], "happenedAt": e["happenedAt"]}
                                  for e in item.setdefault("events", [])]}}
            for item in order.fulfillments]}}

    def _storefill_fulfillment_event_create(self, variables: dict) -> dict:
        _only(variables, {"fulfillmentEvent"})
        event = variables["fulfillmentEvent"]
        _only(event, {"fulfillmentId", "status", "happenedAt", "message", "city", "country", "province", "zip",
                      "address1", "latitude", "longitude", "estimatedDeliveryAt"},
              required={"fulfillmentId", "status"})
        if event["status"] not in EVENT_STATUSES:
            raise Invalid(f"status {event['status']!r} is not a FulfillmentEventStatus")
        if "happenedAt" in event and not re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", event["happenedAt"]):
            raise Invalid("happenedAt must be an ISO 8601 DateTime")
        fulfillment = next((item for order in self.orders.values() for item in order.fulfillments
                            if item["id"] == event["fulfillmentId"]), None)
        if fulfillment is None:
            raise Invalid(f"no Fulfillment {event['fulfillmentId']}")
        errors = self._user_errors("fulfillmentEventCreate")
        if errors:
            return {"fulfillmentEventCreate": {"fulfillmentEvent": None, "userErrors": errors}}
        event_id = f"gid://shopify/FulfillmentEvent/{next(_ids)}"
        fulfillment.setdefault("events", []).append({"id": event_id, **event})
        return {"fulfillmentEventCreate": {"fulfillmentEvent": {"id": event_id, "status": event["status"]},
                                           "userErrors": []}}

    def _storefill_prepared_for_pickup(self, variables: dict) -> dict:
        _only(variables, {"input"})
        _only(variables["input"], {"lineItemsByFulfillmentOrder"}, required={"lineItemsByFulfillmentOrder"})
        for group in variables["input"]["lineItemsByFulfillmentOrder"]:
            _only(group, {"fulfillmentOrderId"}, required={"fulfillmentOrderId"})
            number = _gid(group["fulfillmentOrderId"], "FulfillmentOrder")
            for order in self.orders.values():
                if any(node["id"].endswith("/" + number) for node in order.fulfillment_orders()):
                    order.prepared_for_pickup.append(group["fulfillmentOrderId"])
        return {"fulfillmentOrderLineItemsPreparedForPickup": {"userErrors": self._user_errors("preparedForPickup")}}

    def _storefill_order_cancel(self, variables: dict) -> dict:
        _only(variables, {"orderId", "reason", "refund", "restock", "notifyCustomer", "staffNote"},
              required={"orderId", "reason", "refund", "restock"})
        if variables["reason"] not in CANCEL_REASONS:
            raise Invalid(f"reason {variables['reason']!r} is not an OrderCancelReason")
        for key in ("refund", "restock"):
            if not isinstance(variables[key], bool):
                raise Invalid(f"{key} must be a Boolean")
        order = self._order(variables["orderId"])
        errors = self._user_errors("orderCancel")
        if not errors and order.cancelled:
            errors = [{"field": ["orderId"], "message": "Order has already been cancelled", "code": "INVALID"}]
        if not errors:
            order.cancelled, order.cancel = True, dict(variables)
        return {"orderCancel": {"job": None if errors else {"id": f"gid://shopify/Job/{next(_ids)}", "done": False},
                                "orderCancelUserErrors": errors}}

    def _storefill_order_edit_begin(self, variables: dict) -> dict:
        _only(variables, {"id"})
        order = self._order(variables["id"])
        edit_id = f"gid://shopify/CalculatedOrder/{next(_ids)}"
        self.edits[edit_id] = {"order": order, "staged": {}}
        return {"orderEditBegin": {"calculatedOrder": {"id": edit_id, "lineItems": {"nodes": [
            {"id": f"gid://shopify/CalculatedLineItem/{n}", "quantity": q} for n, q in order.quantities.items()
        ]}}, "userErrors": []}}

    def _storefill_order_edit_set_quantity(self, variables: dict) -> dict:
        _only(variables, {"id", "lineItemId", "quantity", "restock"}, required={"id", "lineItemId", "quantity"})
        edit = self.edits.get(variables["id"])
        if edit is None:
            raise Invalid(f"no calculated order {variables['id']}")
        number = _gid(variables["lineItemId"], "CalculatedLineItem")
        if not isinstance(variables["quantity"], int) or variables["quantity"] < 0:
            raise Invalid("quantity must be an Int of 0 or more")
        order = edit["order"]
        if variables["quantity"] < order.fulfilled.get(number, 0):
            return {"orderEditSetQuantity": {"calculatedLineItem": None, "userErrors": [
                {"field": ["quantity"], "message": "Quantity can't be less than the fulfilled quantity."}]}}
        edit["staged"][number] = variables["quantity"]
        return {"orderEditSetQuantity": {"calculatedLineItem": {"id": variables["lineItemId"],
                                                                "quantity": variables["quantity"]},
                                         "userErrors": self._user_errors("orderEditSetQuantity")}}

    def _storefill_orders_updated(self, variables: dict) -> dict:
        _only(variables, {"first", "after", "query"}, required={"first", "query"})
        first = variables["first"]
        if not isinstance(first, int) or not 1 <= first <= 250:
            raise Invalid("first must be an Int from 1 to 250")
        match = re.fullmatch(r"updated_at:>='(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)'", variables["query"])
        if match is None:
            raise Invalid(f"unexpected search query {variables['query']!r}")
        nodes = sorted((node for node in self.pullable if node["updatedAt"] >= match.group(1)),
                       key=lambda node: (node["updatedAt"], node["id"]))
        start = int(variables["after"]) if variables.get("after") else 0
        page = nodes[start:start + first]
        end = start + len(page)
        return {"orders": {"pageInfo": {"hasNextPage": end < len(nodes), "endCursor": str(end) if page else None},
                           "nodes": page}}

    def _storefill_order_edit_commit(self, variables: dict) -> dict:
        _only(variables, {"id", "notifyCustomer", "staffNote"}, required={"id"})
        edit = self.edits.pop(variables["id"], None)
        if edit is None:
            raise Invalid(f"no calculated order {variables['id']}")
        edit["order"].quantities.update(edit["staged"])
        return {"orderEditCommit": {"order": {"id": f"gid://shopify/Order/{edit['order'].external_id}"},
                                    "userErrors": []}}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _gid(value, kind: str) -> str:
    if not isinstance(value, str) or not value.startswith(f"gid://shopify/{kind}/"):
        raise Invalid(f"{value!r} is not a {kind} ID")
    return value.rsplit("/", 1)[-1]


def _only(variables: dict, allowed: set[str], *, required: set[str] | None = None) -> None:
    if not isinstance(variables, dict):
        raise Invalid(f"expected an object, got {variables!r}")
    unknown = set(variables) - allowed
    if unknown:
        raise Invalid(f"unknown fields {sorted(unknown)}")
    missing = (required if required is not None else allowed) - {k for k, v in variables.items() if v is not None}
    if missing:
        raise Invalid(f"missing {sorted(missing)}")


def _refused(mutation: str, message: str) -> dict:
    return {mutation: {"fulfillment": None, "userErrors": [{"field": ["fulfillment"], "message": message}]}}


def order_node(number: int, *, updated_at: str, sku: str, quantity: int = 1, cancelled_at: str | None = None,
               pickup_store: str | None = None) -> dict:
    """A GraphQL Order node as Shopify answers the orders query (the fields oms.shop.pull asks for)."""
    return {
        "id": f"gid://shopify/Order/{number}", "legacyResourceId": str(number), "name": f"#P{number}",
        "email": "pulled@example.com", "phone": None, "createdAt": "2026-12-01T08:00:00Z", "updatedAt": updated_at,
        "cancelledAt": cancelled_at, "cancelReason": "CUSTOMER" if cancelled_at else None,
        "displayFinancialStatus": "PAID", "tags": [], "currencyCode": "USD",
        "totalPriceSet": {"shopMoney": {"amount": "25.00"}},
        "customer": {"firstName": "Pat", "lastName": "Pulled", "email": "pulled@example.com", "phone": None},
        "shippingAddress": {"name": "Pat Pulled", "address1": "1 Main St", "address2": None, "city": "Chicago",
                            "zip": "60601", "province": "Illinois", "provinceCode": "IL", "countryCodeV2": "US",
                            "phone": None, "latitude": 41.88, "longitude": -87.62},
        "billingAddress": None,
        "customAttributes": [{"key": "pickup_store", "value": pickup_store}] if pickup_store else [],
        "shippingLines": {"nodes": [{"code": "pickup" if pickup_store else "standard", "title": "Shipping"}]},
        "lineItems": {"nodes": [{
            "id": f"gid://shopify/LineItem/{number}1", "sku": sku, "title": "Pulled item", "name": "Pulled item",
            "quantity": quantity, "currentQuantity": quantity,
            "originalUnitPriceSet": {"shopMoney": {"amount": "25.00"}}, "customAttributes": [],
        }]},
    }
