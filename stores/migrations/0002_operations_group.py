from django.db import migrations


def create_operations_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="operations")


class Migration(migrations.Migration):
    dependencies = [("stores", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_operations_group, migrations.RunPython.noop)]
