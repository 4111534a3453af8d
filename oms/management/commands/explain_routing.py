"""Print every routing decision stored for an order, in words."""

from django.core.management.base import BaseCommand, CommandError

from oms.models import Order
from oms.routing.explain import decision_in_words


class Command(BaseCommand):
    help = "Explain where routing sent an order's lines and why (ORDER is the order name, e.g. #1001, or its id)."

    def add_arguments(self, parser):
        parser.add_argument("order", help="Order name (#1001) or id.")

    def handle(self, *args, **options):
        order = self._order(options["order"].strip())
        decisions = list(order.routing_decisions.select_related("run", "rule").order_by("created_at", "pk"))
        if not decisions:
            self.stdout.write(f"{order.name}: no routing decision yet")
            return
        for decision in decisions:
            source = f"run {decision.run_id} ({decision.run.queue})" if decision.run else "routed directly"
            rule = f", rule {decision.rule.name!r}" if decision.rule else ""
            self.stdout.write(f"{order.name} {decision.created_at:%Y-%m-%d %H:%M} UTC, {source}{rule}, "
                              f"{decision.outcome}: {decision_in_words(decision)}")

    def _order(self, text: str) -> Order:
        orders = Order.objects.filter(name=text)
        if not orders and not text.startswith("#"):
            orders = Order.objects.filter(name=f"#{text}")
        if not orders and text.isdigit():
            orders = Order.objects.filter(pk=int(text))
        found = list(orders[:2])
        if not found:
            raise CommandError(f"no order {text!r}")
        if len(found) > 1:
            raise CommandError(f"several orders are named {text!r}: give the id instead")
        return found[0]
