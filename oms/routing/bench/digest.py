"""A digest of what a brokering run decided: every order line's state, queue, facility and quantity, hashed.

Two runs over the same world (same seed) that decide the same print the same digest, whatever the code that
made them, so a change meant to keep routing's behaviour (a refactor, a speed-up) is checked by comparing two
digests. Lines are named by what the world gives them (order name, shop line id, SKU), never by primary key,
because a split line's key depends on when it was written.
"""

import hashlib

from oms.models import OrderLine


def decisions_digest() -> tuple[str, int]:
    """(the first 16 hex digits of the sha256 of every line's decision, sorted; the number of lines)."""
    rows = sorted(
        "\t".join(str(value) for value in row)
        for row in OrderLine.objects.values_list(
            "order__name", "external_line_id", "sku", "status", "queue", "allocated_facility__code", "quantity",
        ).iterator(chunk_size=20_000)
    )
    digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
    return digest, len(rows)
