"""The rejection reasons stores start with; operations staff edit them in the admin."""

from django.db import migrations

REASONS = [
    # code, name, effect
    ("not-in-stock", "Not in stock", "TO_RESERVED"),
    ("damaged", "Damaged", "REDUCE"),
    ("worn-display", "Worn display item", "REDUCE"),
    ("mismatch", "Mismatch (item differs from the listing)", "REDUCE"),
    ("no-variance", "No stock variance (e.g. store too busy)", "NONE"),
]


def seed(apps, schema_editor):
    RejectionReason = apps.get_model("oms", "RejectionReason")
    for position, (code, name, effect) in enumerate(REASONS):
        RejectionReason.objects.get_or_create(code=code, defaults={"name": name, "effect": effect,
                                                                   "position": position})


class Migration(migrations.Migration):
    dependencies = [("oms", "0007_rejections")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
