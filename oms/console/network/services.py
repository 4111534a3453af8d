"""The network area's one write of its own: asking the worker for a brokering run of a queue now."""

from django.db import transaction

from oms.console.network.selectors import queue_running_run
from oms.routing.runs import RUN_QUEUES, RunAlreadyActive
from oms.tasks import broker_queue


def brokering_run_request(*, queue: str, actor=None) -> None:
    """Queue a brokering run of `queue` on the worker (after commit), recorded as started from the console by `actor`.

    Refuses a queue runs do not take lines from, and a queue with a run RUNNING now; two runs that
    slip past this check still never overlap: the second is refused by the run itself and the task skips it.
    """
    if queue not in RUN_QUEUES:
        raise ValueError(f"Brokering runs take lines from {', '.join(RUN_QUEUES)}, not {queue}.")
    if queue_running_run(queue) is not None:
        raise RunAlreadyActive(f"A run of {queue} is running: wait for it to finish.")
    actor_id = actor.pk if actor is not None else None
    transaction.on_commit(lambda: broker_queue.delay(queue=queue, trigger="console", actor_id=actor_id))
