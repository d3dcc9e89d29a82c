"""Licence keys were stored in clear in the system status kept per connection: mask them."""

from django.db import migrations

from dashboard.directory.sources import with_masked_fields


def mask_licence_keys(apps, schema_editor) -> None:
    for model_name in ("DirectoryState", "SyncRun"):
        model = apps.get_model("directory", model_name)
        for row in model.objects.exclude(system_status={}).only("pk", "system_status"):
            if not isinstance(row.system_status, dict):
                continue
            masked = with_masked_fields("SystemStatus", row.system_status)
            if masked != row.system_status:
                model.objects.filter(pk=row.pk).update(system_status=masked)


class Migration(migrations.Migration):
    dependencies = [("directory", "0003_review_warnings_masking")]

    operations = [migrations.RunPython(mask_licence_keys, migrations.RunPython.noop)]
