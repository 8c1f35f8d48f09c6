# Indexes for the REST API's listen list and stats (see listens/selectors.py).
# The same two indexes must be declared in ListenEvent.Meta.indexes.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('listens', '0002_taste_snapshot'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='listenevent',
            index=models.Index(condition=models.Q(('duplicate_of__isnull', True)), fields=['user', '-listened_at', '-id'], include=('recording',), name='listen_user_counted_time'),
        ),
        migrations.AddIndex(
            model_name='listenevent',
            index=models.Index(condition=models.Q(('duplicate_of__isnull', True)), fields=['-listened_at', '-id'], name='listen_counted_time'),
        ),
    ]
