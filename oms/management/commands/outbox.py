"""The outbox by hand: list messages (the dead ones first of all), retry them, run the dispatcher once."""

from django.core.management.base import BaseCommand, CommandError

from oms.models import OutboxMessage
from oms.outbox.dispatch import outbox_dispatch
from oms.outbox.messages import outbox_dead_list, outbox_retry


class Command(BaseCommand):
    help = ("Outbox messages: `list [--dead]`, `retry ID | --all` (FAILED and DEAD messages), "
            "`dispatch` (deliver due ones now).")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        listing = commands.add_parser("list", help="Undelivered messages (PENDING, FAILED, DEAD), oldest first.")
        listing.add_argument("--dead", action="store_true",
                             help="Only the messages that stopped: FAILED (refused) and DEAD (out of tries).")
        listing.add_argument("--limit", type=int, default=100)
        retry = commands.add_parser("retry", help="Put a FAILED or DEAD message, or every one, back in line.")
        retry.add_argument("message_id", nargs="?", type=int)
        retry.add_argument("--all", action="store_true", help="Every FAILED and DEAD message.")
        commands.add_parser("dispatch", help="Deliver the due messages now, in this process.")

    def handle(self, *args, **options):
        getattr(self, f"handle_{options['action']}")(options)

    def handle_list(self, options):
        if options["dead"]:
            messages = outbox_dead_list(limit=options["limit"])
        else:
            undelivered = [OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED, OutboxMessage.Status.DEAD]
            messages = list(
                OutboxMessage.objects.filter(status__in=undelivered).select_related("order").order_by("pk")
                [:options["limit"]]
            )
        for message in messages:
            order = message.order.name if message.order else "-"
            self.stdout.write(
                f"{message.pk}\t{message.status}\t{message.destination}\t{message.kind}\t{order}\t"
                f"attempts {message.attempts}\tdue {message.due_at:%Y-%m-%d %H:%M:%S}\t{message.idempotency_key}"
            )
            if message.last_error:
                self.stdout.write(f"\t{message.last_error.splitlines()[0][:200]}")
        self.stdout.write(f"{len(messages)} message(s)")

    def handle_retry(self, options):
        if options["all"] == (options["message_id"] is not None):
            raise CommandError("Give a message id or --all.")
        try:
            count = outbox_retry(message_id=options["message_id"], all_dead=options["all"])
        except OutboxMessage.DoesNotExist as exc:
            raise CommandError(str(exc)) from exc
        if options["message_id"] is not None and not count:
            status = OutboxMessage.objects.get(pk=options["message_id"]).status
            raise CommandError(f"Message {options['message_id']} is {status}: only FAILED or DEAD ones are retried.")
        self.stdout.write(f"{count} message(s) back in line")

    def handle_dispatch(self, options):
        total = {"delivered": 0, "retrying": 0, "failed": 0, "dead": 0}
        while True:
            result = outbox_dispatch()
            for key in total:
                total[key] += getattr(result, key)
            if not result.more:
                break
        self.stdout.write(", ".join(f"{key} {value}" for key, value in total.items()))
