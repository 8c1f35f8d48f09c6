# Recordings carry their reported album's key, so a page finds an album's listens
# waiting for curation from a few recording rows (a partial index on the unresolved
# ones) instead of grouping every listen's album text in Python.

from collections import defaultdict

from django.db import migrations, models

BATCH = 500


def fill_album_keys(apps, schema_editor):
    # The pure key function as it is when this runs (no I/O), like listens.0005.
    from metadata.matching import album_key

    Recording = apps.get_model("metadata", "Recording")
    by_key: dict[str, list[int]] = defaultdict(list)
    rows = Recording.objects.exclude(album_name="").values_list("pk", "album_name")
    for pk, album_name in rows.iterator(chunk_size=5000):
        key = album_key(album_name)[:500]
        if key:
            by_key[key].append(pk)
    # One UPDATE per distinct album (far fewer than rows), in batches of ids.
    for key, pks in by_key.items():
        for start in range(0, len(pks), BATCH):
            Recording.objects.filter(pk__in=pks[start : start + BATCH]).update(album_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("metadata", "0004_album_aware_identity"),
        # The identity migration creates unresolved rows; key them too.
        ("listens", "0005_album_aware_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="recording",
            name="album_key",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.RunPython(fill_album_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="recording",
            index=models.Index(
                condition=models.Q(("status", "unresolved")),
                fields=["album_key"],
                name="recording_waiting_album",
            ),
        ),
    ]
