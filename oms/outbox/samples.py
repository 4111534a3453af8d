"""Sample emails for review: each email kind may register a sampler that makes an outbox message from demo data.

`render_sample_emails DIR` runs every sampler inside a transaction it rolls back, so a sampler may
create the rows its email reads (an offer, a handover) without leaving anything behind.
"""

from collections.abc import Callable
from datetime import datetime

from oms.models import OutboxMessage
from oms.outbox.email import email_kinds

EmailSampler = Callable[[datetime], OutboxMessage]

_SAMPLERS: dict[str, EmailSampler] = {}


def email_sample(kind: str) -> Callable[[EmailSampler], EmailSampler]:
    """Register the decorated function as the maker of a sample outbox message of this email `kind`."""

    def register(sampler: EmailSampler) -> EmailSampler:
        _SAMPLERS[kind] = sampler
        return sampler

    return register


def email_samplers() -> dict[str, EmailSampler]:
    email_kinds()  # imports every app's emails module, where the samplers are registered too
    return dict(_SAMPLERS)
