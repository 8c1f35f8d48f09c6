from django.apps import AppConfig


class ListensConfig(AppConfig):
    name = "listens"
    verbose_name = "Listens"

    def ready(self) -> None:
        from listens.metadata_facts import answer_metadata
        from listens.models import ListenEvent
        from metadata.listen_facts import listen_facts_wanted
        from metadata.signals import recording_rows_moved

        listen_facts_wanted.connect(answer_metadata, weak=False)

        def listens_moved(sender, pks, target_id, **kwargs) -> None:
            from listens.duplicates import mark_duplicates_of_moved_listens

            mark_duplicates_of_moved_listens(listen_ids=pks)

        recording_rows_moved.connect(listens_moved, sender=ListenEvent, weak=False)
