"""The brokering benchmark at a tiny size, so `make test` keeps it working (the figures are not judged here)."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

SUMMARY = re.compile(r"orders=(\d+) lines=(\d+) seconds=\d+\.\d\d orders_per_s=\d+ peak_rss_mb=\d+")


def bench(*args: str) -> list[str]:
    out = StringIO()
    call_command("bench_brokering", "--orders", "200", "--facilities", "20", "--skus", "300", "--seed", "3",
                 *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db(transaction=True)
def test_bench_brokering_passes_its_checks_and_ends_with_the_summary_line():
    lines = bench("--force")
    summary = SUMMARY.fullmatch(lines[-1])
    assert summary, lines[-1]
    assert int(summary[1]) == 200
    assert 200 <= int(summary[2]) <= 800  # 1 to 4 lines per order
    checks = [line for line in lines if line.startswith("[")]
    assert checks and all(line.startswith("[ok]") for line in checks), "\n".join(checks)
    assert any("reference" in line for line in checks)


@pytest.mark.django_db(transaction=True)
def test_bench_brokering_fails_when_a_check_fails(monkeypatch):
    from oms.routing.bench import checks as bench_module

    monkeypatch.setattr(bench_module, "_check_ledger", lambda: bench_module.Check("stock ledger reconciles", False))
    out = StringIO()
    with pytest.raises(CommandError, match="failed their checks"):
        call_command("bench_brokering", "--orders", "20", "--facilities", "5", "--skus", "30", "--force", stdout=out)
    assert "[FAIL] stock ledger reconciles" in out.getvalue()
    assert SUMMARY.fullmatch(out.getvalue().splitlines()[-1])


@pytest.mark.django_db
def test_bench_brokering_refuses_a_database_not_named_bench():
    with pytest.raises(CommandError, match="refusing to wipe"):
        bench()
