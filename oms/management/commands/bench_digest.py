"""Print the digest of the decisions in the configured database (see oms.routing.bench.digest)."""

from django.core.management.base import BaseCommand

from oms.routing.bench.digest import decisions_digest


class Command(BaseCommand):
    help = ("Print 'decisions digest=D lines=N': a hash of every order line's state, queue, facility and quantity, "
            "to compare the decisions of two brokering runs over the same world.")

    def handle(self, *args, **options):
        digest, lines = decisions_digest()
        self.stdout.write(f"decisions digest={digest} lines={lines}")
