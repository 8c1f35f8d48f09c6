# Listen pages and stats on SQLite (bench/README.md, "API reads"): the full index on the
# mostly-NULL duplicate_of column becomes a partial one on its few non-NULL values, and
# top recordings get a (user, recording) index over counted listens.
#
# The old index is dropped by name found through introspection rather than by
# AlterField, which on SQLite would copy the whole listens table to change db_index.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def drop_full_duplicate_of_index(apps, schema_editor):
    ListenEvent = apps.get_model("listens", "ListenEvent")
    table = ListenEvent._meta.db_table
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    for name, info in constraints.items():
        if info["index"] and not info["unique"] and info["columns"] == ["duplicate_of_id"]:
            if name != "listen_duplicate_of":
                schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore_full_duplicate_of_index(apps, schema_editor):
    ListenEvent = apps.get_model("listens", "ListenEvent")
    field = ListenEvent._meta.get_field("duplicate_of")
    schema_editor.execute(schema_editor._create_index_sql(ListenEvent, fields=[field]))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_ingest_claim'),
        ('listens', '0005_album_aware_identity'),
        ('metadata', '0003_curation_decision'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='listenevent',
                    name='duplicate_of',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='duplicates', to='listens.listenevent'),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_full_duplicate_of_index, restore_full_duplicate_of_index),
            ],
        ),
        migrations.AddIndex(
            model_name='listenevent',
            index=models.Index(condition=models.Q(('duplicate_of__isnull', True)), fields=['user', 'recording'], name='listen_user_recording'),
        ),
        migrations.AddIndex(
            model_name='listenevent',
            index=models.Index(condition=models.Q(('duplicate_of__isnull', False)), fields=['duplicate_of'], name='listen_duplicate_of'),
        ),
    ]
