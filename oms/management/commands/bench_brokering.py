"""Time one brokering run over a synthetic world and check what it wrote (see oms.routing.bench.benchmark)."""

from django.core.management.base import BaseCommand, CommandError

from oms.routing.bench.benchmark import bench_brokering
from oms.routing.bench.config import BenchConfig, BenchError


class Command(BaseCommand):
    help = (
        "Wipe the configured database (its name must contain 'bench', or pass --force), build a synthetic "
        "world, time brokering_run over the BROKERING queue and check the result. The last line is "
        "'orders=N lines=L seconds=T orders_per_s=R peak_rss_mb=M'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=10_000)
        parser.add_argument("--facilities", type=int, default=200)
        parser.add_argument("--skus", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--repeat", type=int, default=1, help="Build and run this many times (same seed).")
        parser.add_argument("--force", action="store_true", help="Run on a database not named *bench* (wipes it).")

    def handle(self, *args, **options):
        config = BenchConfig(orders=options["orders"], facilities=options["facilities"], skus=options["skus"],
                             seed=options["seed"])
        failed = 0
        for _ in range(max(1, options["repeat"])):
            try:
                result = bench_brokering(config=config, force=options["force"], write=self.stdout.write)
            except BenchError as exc:
                raise CommandError(str(exc)) from exc
            failed += not result.ok
        if failed:
            # stderr, so the summary line stays the last line on stdout.
            raise CommandError(f"{failed} of {max(1, options['repeat'])} benchmark runs failed their checks")
