from django.apps import AppConfig


class ListensConfig(AppConfig):
    name = "listens"
    verbose_name = "Listens"

    def ready(self) -> None:
        from accounts.signals import account_connected, ingest_requested, running_ingest_wanted
        from listens.announcements import (
            queue_first_taste_snapshot,
            queue_requested_ingest,
            running_ingest,
        )
        from listens.metadata_facts import answer_metadata
        from listens.models import ListenEvent
        from metadata.listen_facts import listen_facts_wanted
        from metadata.signals import recording_rows_moved

        listen_facts_wanted.connect(answer_metadata, weak=False)
        ingest_requested.connect(queue_requested_ingest, weak=False)
        account_connected.connect(queue_first_taste_snapshot, weak=False)
        running_ingest_wanted.connect(running_ingest, weak=False)

        def listens_moved(sender, pks, target_id, **kwargs) -> None:
            from listens.duplicates import mark_duplicates_of_moved_listens

            mark_duplicates_of_moved_listens(listen_ids=pks)

        recording_rows_moved.connect(listens_moved, sender=ListenEvent, weak=False)
