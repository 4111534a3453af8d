"""Run callables at the same instant in real threads against PostgreSQL (the concurrency tests' harness)."""

import threading

from django.db import close_old_connections


def race(calls, *, refused: type[BaseException], done: str = "done") -> list:
    """Start every call on one Barrier; return each outcome: `done`, or (status, message) of a refusal.

    Any other exception fails the test. Each thread closes its own database connection at the end.
    """
    barrier = threading.Barrier(len(calls))
    outcomes, errors = [], []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes.append(done)
        except refused as refusal:
            outcomes.append((getattr(refusal, "status", None), getattr(refusal, "message", str(refusal))))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return outcomes
