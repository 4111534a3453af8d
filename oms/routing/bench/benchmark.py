"""The brokering benchmark: builds a synthetic world, times one brokering run over it, and checks what the run wrote."""

import ctypes
import gc
import resource
import time
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.utils import timezone

from fulfillment.models import PickJob
from oms.models import (
    BrokeringRun,
    FulfillmentRequest,
    RoutingDecision,
    RoutingRule,
    TransitionLog,
)
from oms.routing.bench.checks import bench_checks
from oms.routing.bench.config import QUEUE, BenchConfig, BenchError, BenchResult, BenchWorld, Snapshot
from oms.routing.bench.digest import decisions_digest
from oms.routing.bench.world import bench_analyze, bench_world_build, facilities_plain, orders_plain
from oms.routing.runs import brokering_run
from stores.models import InventoryAdjustment, StockLevel

# --- Running --------------------------------------------------------------------------------------


def bench_database_guard(*, force: bool) -> str:
    """The database name, if the benchmark may wipe it: PostgreSQL, and named *bench* unless forced."""
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql":
        raise BenchError(f"the benchmark needs PostgreSQL; the configured database is {connection.vendor}")
    if "bench" not in str(name) and not force:
        raise BenchError(
            f"refusing to wipe database {name!r}: the benchmark deletes every order, product and facility. "
            "Point DATABASE_URL at a database whose name contains 'bench', or pass --force."
        )
    return name


def bench_brokering(*, config: BenchConfig, force: bool = False, write: Callable[[str], None] = print) -> BenchResult:
    """Build the world, time one brokering run of BROKERING, and check its result."""
    name = bench_database_guard(force=force)
    if settings.DEBUG:
        write("note: DEBUG is on, so Django keeps every query it runs: figures are pessimistic (set DEBUG=0)")
    started = time.perf_counter()
    world = bench_world_build(config=config)
    write(f"world on {name}: {config.facilities} facilities, {config.skus} SKUs, {len(world.order_ids)} orders, "
          f"{world.lines} lines, {StockLevel.objects.count()} stock rows "
          f"(built in {time.perf_counter() - started:.1f} s)")
    snapshot = bench_snapshot(world=world)
    analyzed = bench_analyze()
    write(f"analyzed {len(analyzed)} tables holding the world; the tables the run fills keep no statistics")

    run, seconds, peak_rss_mb, rss_note = _run_timed()
    write(f"brokering run {run.pk}: {run.status}, {run.orders_considered} orders, {run.lines_considered} lines, "
          f"{run.lines_allocated} lines allocated, {run.lines_parked} parked in {seconds:.2f} s{rss_note}")
    write(_written_summary(run=run))
    digest, lines = decisions_digest()
    write(f"decisions digest={digest} lines={lines}")
    result = BenchResult(orders=len(world.order_ids), lines=world.lines, seconds=seconds, peak_rss_mb=peak_rss_mb)
    result.checks = bench_checks(world=world, snapshot=snapshot, run=run)
    for check in result.checks:
        write(f"[{'ok' if check.ok else 'FAIL'}] {check.name}" + (f": {check.detail}" if check.detail else ""))
    write(result.summary_line())
    return result


# --- Before and during the run ----------------------------------------------------------------------


def bench_snapshot(*, world: BenchWorld) -> Snapshot:
    orders = orders_plain(world.sample_ids)
    products = {line["product_id"] for order in orders.values() for line in order["lines"]}
    stock = {
        (facility_id, product_id): max(0, on_hand - reserved - safety)
        for facility_id, product_id, on_hand, reserved, safety in StockLevel.objects.filter(
            product_id__in=products
        ).values_list("facility_id", "product_id", "on_hand", "reserved", "safety_stock")
    }
    return Snapshot(facilities=facilities_plain(now=timezone.now()), stock=stock,
                    rules=list(RoutingRule.objects.values()), orders=orders)


def _release_free_memory() -> None:
    """Hand memory freed after building back to the OS, so the peak measured is the run's own."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak then includes whatever the builder left
        pass


def _peak_rss_reset() -> bool:
    """Restart the process's peak-RSS mark (Linux: clear_refs 5), so ru_maxrss covers the run only."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _run_timed() -> tuple[BrokeringRun, float, int, str]:
    _release_free_memory()
    reset = _peak_rss_reset()
    started = time.perf_counter()
    run = brokering_run(queue=QUEUE, trigger="bench")
    seconds = time.perf_counter() - started
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    note = "" if reset else " (peak RSS could not be reset: it includes building the world)"
    return run, seconds, peak_rss_mb, note


def _written_summary(*, run: BrokeringRun) -> str:
    outcomes = Counter(RoutingDecision.objects.filter(run=run).values_list("outcome", flat=True))
    requests = FulfillmentRequest.objects.count()
    pick_jobs = PickJob.objects.count()
    logs = TransitionLog.objects.count()
    reserves = InventoryAdjustment.objects.filter(reason=InventoryAdjustment.Reason.RESERVE).count()
    shown = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    return (f"written: decisions {shown}; {requests} fulfillment requests, {pick_jobs} pick jobs, "
            f"{reserves} reservations, {logs} transition log rows")
