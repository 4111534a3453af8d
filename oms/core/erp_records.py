"""The ERP's records of what happened to an order (docs/erp-feeds.md): written to the outbox in the transaction of
the change (an order imported, units handed over), exported as CSV files by `oms.feeds.exports`."""

from datetime import UTC, datetime

from oms.models import Order, OrderLine


def utc_text(moment: datetime | None) -> str:
    """UTC, ISO 8601 to the second with a Z: 2025-03-01T17:30:00Z."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_text(value) -> str:
    return "" if value is None else str(value)


# --- Allocations: sending WMS requests, and cancelling exported ones ---------------------------------


def erp_order_payload(*, order: Order, lines: list[OrderLine]) -> dict:
    """The `erp-order` message of a new order: one orders-file row per line, as the shop sent it."""
    address = order.shipping_address or {}
    common = {
        "order": order.name, "external_id": order.external_id, "channel": order.channel,
        "ordered_at": utc_text(order.ordered_at), "received_at": utc_text(order.received_at),
        "customer_name": order.customer_name, "email": order.email,
        "ship_city": csv_text(address.get("city")), "ship_postal_code": csv_text(address.get("zip")),
        "ship_country": csv_text(address.get("country_code")), "currency": order.currency,
    }
    return {"rows": [
        {**common, "line_id": str(line.pk), "shop_line_id": line.external_line_id, "sku": line.sku,
         "quantity": str(line.quantity), "unit_price": str(line.unit_price)}
        for line in sorted(lines, key=lambda line: line.pk)
    ]}


def erp_fulfilled_payload(
    *, order: Order, facility, items: list[tuple[OrderLine, int]], shipped_at: datetime, carrier: str,
    service: str, tracking_numbers: list[str],
) -> dict:
    """The `erp-fulfilled` message of a store's handover (a shipment to a carrier, or a pickup at the counter):
    one fulfilled-file row per line with the units handed over; tracking numbers of every parcel, `;`-separated."""
    tracking = ";".join(number for number in tracking_numbers if number)
    return {"rows": [
        {"order": order.name, "line_id": str(line.pk), "shop_line_id": line.external_line_id, "sku": line.sku,
         "facility": facility.code, "quantity": str(quantity), "shipped_at": utc_text(shipped_at),
         "carrier": carrier or "", "service": service or "", "tracking_numbers": tracking}
        for line, quantity in items
    ]}
