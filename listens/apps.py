from django.apps import AppConfig


class ListensConfig(AppConfig):
    name = "listens"
    verbose_name = "Listens"

    def ready(self) -> None:
        from listens.models import ListenEvent
        from metadata.signals import recording_rows_moved

        def listens_moved(sender, pks, target_id, **kwargs) -> None:
            from listens.duplicates import mark_duplicates_of_moved_listens

            mark_duplicates_of_moved_listens(listen_ids=pks)

        recording_rows_moved.connect(listens_moved, sender=ListenEvent, weak=False)

        from listens import recording_hooks
        from metadata import hooks

        hooks.listen_rows_requested.connect(
            lambda sender, recording_ids, **kw: recording_hooks.listen_rows(recording_ids),
            weak=False,
            dispatch_uid="listens.listen_rows",
        )
        hooks.session_albums_requested.connect(
            lambda sender, recording_ids, **kw: recording_hooks.session_albums(recording_ids),
            weak=False,
            dispatch_uid="listens.session_albums",
        )
