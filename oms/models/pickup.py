"""Offers of alternatives to customers whose pickup store cannot serve some items."""

from django.conf import settings
from django.db import models

from oms.models.orders import Order


class PickupAlternativeOffer(models.Model):
    """What a customer may choose when their pickup store cannot serve some items (lines in BOPIS_REJECTED).

    The customer gets a link with a signed token naming this offer; the page shows the choices again
    and applies one: another nearby store that has the items now, delivery to their address, or
    cancelling the items. An offer is used once and expires; operations staff can apply it for the customer.
    """

    class Choice(models.TextChoices):
        STORE = "STORE", "Pick up at another store"
        SHIP = "SHIP", "Deliver to my address"
        CANCEL = "CANCEL", "Cancel the items"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="pickup_offers")
    line_ids = models.JSONField(default=list, help_text="The BOPIS_REJECTED lines the offer covers.")
    stores = models.JSONField(default=list, help_text='[{"facility_id", "code", "name", "distance_km"}], nearest first')
    can_ship = models.BooleanField(default=True)
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    choice = models.CharField(max_length=8, choices=Choice.choices, blank=True)
    chosen_facility = models.ForeignKey(
        "stores.Facility", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Set when operations staff applied the choice for the customer.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Pickup alternatives for {self.order_id}"
