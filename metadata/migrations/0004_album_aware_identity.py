# Track identity becomes (artist, title, album, source MBID): unresolved rows and
# aliases are keyed by it (the data is re-keyed by listens.0005).

from django.db import migrations, models
from django.db.models import F


def copy_keys(apps, schema_editor):
    # The old unique text key is the alias key until listens.0005 re-keys it. A
    # rename would leave PostgreSQL's index names behind, clashing with the new field.
    apps.get_model("metadata", "RecordingAlias").objects.update(key=F("text_key"))


class Migration(migrations.Migration):
    dependencies = [
        ("metadata", "0003_curation_decision"),
    ]

    operations = [
        migrations.AddField(
            model_name="recordingalias",
            name="key",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(copy_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="recordingalias", name="text_key"),
        migrations.AlterField(
            model_name="recordingalias",
            name="key",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="recordingalias",
            name="text_key",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name="recordingalias",
            name="scope",
            field=models.CharField(
                choices=[("identity", "This album (and source MBID)"), ("text", "Every album")],
                default="identity",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="recordingalias",
            name="album_name",
            field=models.CharField(blank=True, max_length=1000),
        ),
        migrations.AddField(
            model_name="recordingalias",
            name="album_key",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="recordingalias",
            name="hint_mbid",
            field=models.UUIDField(blank=True, null=True, verbose_name="source MBID"),
        ),
        migrations.AddField(
            model_name="recording",
            name="text_key",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="recording",
            name="unresolved_key",
            field=models.CharField(
                blank=True,
                help_text="Digest of the reported artist, title, album and source MBID; set "
                "only while there is no MBID.",
                max_length=64,
                null=True,
                unique=True,
            ),
        ),
        migrations.AddField(
            model_name="curationdecision",
            name="scope",
            field=models.CharField(
                choices=[("identity", "This album (and source MBID)"), ("text", "Every album")],
                default="identity",
                max_length=10,
            ),
        ),
    ]
