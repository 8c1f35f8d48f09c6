# The database cache's table, so that `manage.py migrate` is all the set-up a new
# database needs (without it every /api/ request answered 500: throttling reads
# the cache). Created whatever CACHES says today: a deployment that drops
# REDIS_URL later falls back to this cache and must find its table.

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

# settings.CACHES' LOCATION for the database cache (a migration keeps its own copy).
DATABASE_CACHE_TABLE = "sidetrack_cache"


def create_cache_tables(apps, schema_editor):
    alias = schema_editor.connection.alias
    command = CreateCacheTable()
    command.verbosity = 0
    # Sidetrack's own table, and any other database cache the settings name.
    command.create_table(alias, DATABASE_CACHE_TABLE, dry_run=False)
    command.handle(database=alias, dry_run=False, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(DATABASE_CACHE_TABLE)}")


class Migration(migrations.Migration):

    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, drop_cache_table)]
