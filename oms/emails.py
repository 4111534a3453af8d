"""The order-management app's customer emails (registered with oms.delivery.email, built when they are sent)."""

from oms.delivery.email import Email, email_kind
from oms.models import OutboxMessage, PickupAlternativeOffer
from oms.pickup_offers import EMAIL_KIND, pickup_offer_details


@email_kind(EMAIL_KIND)
def pickup_alternatives_email(message: OutboxMessage) -> Email:
    """The store the customer chose cannot give them some items: the other stores, delivery, or cancelling."""
    offer = PickupAlternativeOffer.objects.select_related("order").get(pk=message.payload["offer"])
    details = pickup_offer_details(offer=offer, all_lines=True)
    store = details.original_store
    where = store.name if store else "your pickup store"
    return Email(
        to=[offer.order.email],
        subject=f"Order {offer.order.name}: {where} cannot give you every item. Please choose what we do",
        context={"order": offer.order, "store": store, "details": details},
    )
