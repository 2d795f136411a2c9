"""Accounts made before confirmation existed keep working without a banner."""

from django.db import migrations
from django.utils import timezone


def confirm_existing(apps, schema_editor):
    User = apps.get_model("auth", "User")
    EmailConfirmation = apps.get_model("accounts", "EmailConfirmation")
    now = timezone.now()
    EmailConfirmation.objects.bulk_create(
        [
            EmailConfirmation(user_id=pk, email=email, confirmed_at=now)
            for pk, email in User.objects.exclude(email="").values_list("pk", "email")
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(confirm_existing, migrations.RunPython.noop)]
