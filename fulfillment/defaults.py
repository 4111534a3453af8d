"""The short-pick reasons, box types and rejection reasons a store starts with (migrations seed the same lists).

Operations staff edit them in the admin; `store_defaults_ensure` adds any that are missing (used by
seed_demo and by the tests, whose transactional cases flush the tables the migration filled).
"""

from fulfillment.models import BoxType, ShortPickReason
from oms.models import RejectionReason

SHORT_PICK_REASONS = [
    ("not-found", "Not found at the bin location"),
    ("damaged", "Damaged"),
    ("wrong-item", "Wrong item in the bin"),
    ("expired", "Expired or unsellable"),
    ("other", "Other"),
]

BOX_TYPES = [
    # code, name, length, width, height (mm), tare weight (g), max weight (g)
    ("mailer", "Padded mailer", 350, 250, 30, 40, 2000),
    ("small", "Small box", 250, 180, 100, 150, 5000),
    ("medium", "Medium box", 400, 300, 200, 350, 15000),
    ("large", "Large box", 600, 400, 400, 700, 30000),
]


REJECTION_REASONS = [
    # code, name, effect (oms migration 0008 seeds the same)
    ("not-in-stock", "Not in stock", RejectionReason.Effect.TO_RESERVED),
    ("damaged", "Damaged", RejectionReason.Effect.REDUCE),
    ("worn-display", "Worn display item", RejectionReason.Effect.REDUCE),
    ("mismatch", "Mismatch (item differs from the listing)", RejectionReason.Effect.REDUCE),
    ("no-variance", "No stock variance (e.g. store too busy)", RejectionReason.Effect.NONE),
]


def store_defaults_ensure() -> None:
    for position, (code, name) in enumerate(SHORT_PICK_REASONS):
        ShortPickReason.objects.get_or_create(code=code, defaults={"name": name, "position": position})
    for position, (code, name, length, width, height, tare, max_weight) in enumerate(BOX_TYPES):
        BoxType.objects.get_or_create(code=code, defaults={
            "name": name, "length_mm": length, "width_mm": width, "height_mm": height,
            "tare_weight_grams": tare, "max_weight_grams": max_weight, "position": position,
        })
    for position, (code, name, effect) in enumerate(REJECTION_REASONS):
        RejectionReason.objects.get_or_create(code=code, defaults={"name": name, "effect": effect,
                                                                   "position": position})
