"""The order-management app's models, one module per sub-domain; Django loads `oms.models`, so every model is
imported here."""

from oms.models.feeds import FeedExport, FeedFile, FeedProblem
from oms.models.health import Heartbeat
from oms.models.history import TransitionLog
from oms.models.orders import Order, OrderLine, OrderNote
from oms.models.outbox import OutboxMessage
from oms.models.pickup import PickupAlternativeOffer
from oms.models.products import Product
from oms.models.rejections import LineRejection, RejectionReason
from oms.models.requests import FulfillmentRequest
from oms.models.routing import BrokeringRun, RoutingDecision, RoutingRule
from oms.models.shop import ShopPull, ShopWebhook

__all__ = [
    "Heartbeat",
    "Product",
    "Order",
    "OrderLine",
    "OrderNote",
    "FulfillmentRequest",
    "OutboxMessage",
    "TransitionLog",
    "ShopWebhook",
    "ShopPull",
    "RoutingRule",
    "BrokeringRun",
    "RoutingDecision",
    "PickupAlternativeOffer",
    "RejectionReason",
    "LineRejection",
    "FeedFile",
    "FeedProblem",
    "FeedExport",
]
