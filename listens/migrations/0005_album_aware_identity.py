# Re-keys stored data for album-aware track identity (metadata 0004 changed the
# schema): a reported track is (artist, title, album, source MBID), not (artist,
# title). What it does, on a database the previous schema populated:
#
# - every listen's identity is read from its columns and its raw payload (the
#   source MBID: Last.fm's track mbid, ListenBrainz's recording_mbid or mapping),
#   and its text key is recomputed (the case folding of U+0345 changed);
# - an unresolved row is split by the identities of its own text's listens: one
#   row per (album, source MBID), each keeping the row's status and attempts;
#   listens of other texts a curator merged into it stay;
# - a resolved recording reached through a text's cached answer keeps each
#   identity's listens unless their own verified source MBID, or the stored
#   tracklist of their own album, names another recording: those are re-pointed
#   (a curator's answer is never overridden);
# - each identity seen gets its own alias; a curator's answer for a text becomes
#   an "every album" answer; the resolver's text answers without listens are
#   dropped (a cache: the resolver asks again);
# - re-pointed listens are paired again with their other-source duplicates.
#
# It uses the pure matching functions as they are when it runs (no I/O).

import time
from collections import defaultdict

from django.db import migrations
from django.db.models.fields.json import KT


def _hint(source, lastfm_mbid, lb_submitted, lb_mapped):
    from sidetrack.parsing import parse_mbid

    if source == "lastfm":
        return parse_mbid(lastfm_mbid)
    return parse_mbid(lb_submitted) or parse_mbid(lb_mapped)


def _candidate(recording, releases, credit_names=None):
    from metadata.matching import RecordingCandidate

    names = (recording.artist_name,)
    if credit_names is not None:
        names += credit_names
    elif recording.artist_credit_id:
        names += tuple(
            name
            for credit_name in recording.artist_credit.names.all()
            for name in (credit_name.name, credit_name.artist.name)
        )
    on = releases.get(recording.pk, [])
    return RecordingCandidate(
        mbid=str(recording.mbid),
        title=recording.title,
        credited_names=names,
        credit_display=recording.artist_name,
        length_ms=recording.length_ms,
        disambiguation=recording.disambiguation,
        release_titles=tuple(dict.fromkeys(title for title, _ in on)),
        on_live_releases_only=bool(on) and all("Live" in types for _, types in on),
    )


class _Rekey:
    def __init__(self, apps, schema_editor):
        self.connection = schema_editor.connection
        self.Recording = apps.get_model("metadata", "Recording")
        self.Alias = apps.get_model("metadata", "RecordingAlias")
        self.Track = apps.get_model("metadata", "Track")
        self.CreditName = apps.get_model("metadata", "ArtistCreditName")
        self.ReleaseGroup = apps.get_model("metadata", "ReleaseGroup")
        self.Listen = apps.get_model("listens", "ListenEvent")
        self.moved = []  # listen pks re-pointed
        self.pending_aliases = {}  # key → fields: written in bulk (one query per alias took minutes)
        # Writes are held and done in bulk (a query per row took most of the run): the
        # re-keyed rows, the rows made, and the listens moved (pks, target row or pk).
        # ``unresolved_keys`` mirrors the table's keys meanwhile, so a key is looked
        # up without a query and stays unique.
        self.pending_rows = {}
        self.pending_new_rows = []
        self.pending_moves = []
        self.unresolved_keys = dict(
            self.Recording.objects.filter(unresolved_key__isnull=False).values_list("unresolved_key", "pk")
        )
        self.stats = defaultdict(int)

    def run(self):
        started = time.monotonic()
        groups = self.read_listens()
        old_aliases = {a.key: a for a in self.Alias.objects.all()}
        by_recording = defaultdict(dict)
        for (recording_id, identity), group in groups.items():
            by_recording[recording_id][identity] = group
        recordings = self.Recording.objects.in_bulk(list(by_recording))
        for row in self.Recording.objects.filter(mbid__isnull=True).iterator(chunk_size=2000):
            if row.pk not in by_recording:  # no listens: its own report is its identity
                self.rekey_row(row, row_identity(row))
        self.read_hinted(
            {
                group["report"][3]
                for recording_id, identities in by_recording.items()
                if recordings[recording_id].mbid is not None
                for group in identities.values()
                if group["report"][3] and group["report"][3] != str(recordings[recording_id].mbid)
            }
        )
        for recording_id, identities in by_recording.items():
            recording = recordings[recording_id]
            if recording.mbid is None:
                self.split_unresolved(recording, identities)
            else:
                self.check_resolved(recording, identities, old_aliases)
        self.flush()
        self.write_aliases()
        self.convert_old_aliases(old_aliases)
        if self.moved:
            self.stats["duplicates marked"] = self.mark_duplicates()
        self.stats["seconds"] = round(time.monotonic() - started, 1)
        return self.stats

    def read_listens(self):
        """(recording id, identity key) → {pks, report}; text keys recomputed."""
        from metadata.matching import identity_key_digest, text_key_digest

        groups = {}
        rows = (
            self.Listen.objects.order_by("pk")
            .annotate(
                lastfm_mbid=KT("raw_payload__mbid"),
                lb_submitted=KT("raw_payload__track_metadata__additional_info__recording_mbid"),
                lb_mapped=KT("raw_payload__track_metadata__mbid_mapping__recording_mbid"),
            )
            .values_list(
                "pk", "account_id", "recording_id", "source", "artist_name",
                "track_name", "album_name", "track_key", "lastfm_mbid", "lb_submitted", "lb_mapped",
            )
        )
        rekeyed = []
        # Digests memoized here for the whole run: a large history has more
        # identities than the matching module's LRU caches hold, and listens come in
        # pk order, not by identity (at 1M listens most lookups missed).
        texts, identities = {}, {}
        for (pk, account_id, recording_id, source, artist, track, album, key,
             lastfm_mbid, lb_submitted, lb_mapped) in rows.iterator(chunk_size=5000):
            text = texts.get((artist, track))
            if text is None:
                text = texts[(artist, track)] = text_key_digest(artist, track)
            if text != key:
                rekeyed.append((pk, account_id, text))
            hint = _hint(source, lastfm_mbid, lb_submitted, lb_mapped)
            report = (artist, track, album, hint)
            identity = identities.get(report)
            if identity is None:
                identity = identities[report] = identity_key_digest(*report)
            group = groups.get((recording_id, identity))
            if group is None:
                group = groups[(recording_id, identity)] = {
                    "pks": [], "report": report, "text": text,
                }
            group["pks"].append(pk)
        read = sum(len(group["pks"]) for group in groups.values())
        if read:
            self.stats["listens read"] = read
        # Their times only: converting every listen's took a tenth of the run.
        times = {}
        for start in range(0, len(rekeyed), 500):  # bounded IN lists for SQLite
            pks = [pk for pk, _, _ in rekeyed[start : start + 500]]
            times.update(self.Listen.objects.filter(pk__in=pks).values_list("pk", "listened_at"))
        for pk, account_id, text in rekeyed:
            when = times[pk]
            # The same scrobble stored twice under the two foldings keeps its old key.
            if not self.Listen.objects.filter(account_id=account_id, listened_at=when, track_key=text).exists():
                self.stats["listen text keys recomputed"] += self.Listen.objects.filter(pk=pk).update(track_key=text)
        return groups

    def rekey_row(self, row, report):
        """Give ``row`` this identity; when another row has it already (two texts
        that only the new case folding makes one), its listens move there."""
        from metadata.matching import identity_key_digest, text_key_digest

        artist, track, album, hint = report
        key = identity_key_digest(artist, track, album, hint)
        taken = self.unresolved_keys.get(key)
        if taken is not None and _pk(taken) != row.pk:
            self.flush()  # rare: the row's listens and aliases are read from the tables
            pks = list(self.Listen.objects.filter(recording_id=row.pk).order_by("pk").values_list("pk", flat=True))
            self.move(pks, _pk(taken))
            self.flush()
            self.Alias.objects.filter(recording_id=row.pk).update(recording_id=_pk(taken))
            for fields in self.pending_aliases.values():
                if fields["recording_id"] == row.pk:
                    fields["recording_id"] = _pk(taken)
            self.forget_key(row)
            row.delete()
            self.stats["unresolved rows folded together"] += 1
            return
        self.forget_key(row)
        row.unresolved_key = key
        row.text_key = text_key_digest(artist, track)
        row.album_name = (album or "")[:1000]
        row.hint_mbid = hint
        self.unresolved_keys[key] = row.pk
        self.pending_rows[row.pk] = row
        self.stats["unresolved rows re-keyed"] += 1

    def forget_key(self, row):
        if row.unresolved_key is not None and self.unresolved_keys.get(row.unresolved_key) == row.pk:
            del self.unresolved_keys[row.unresolved_key]

    def split_unresolved(self, row, identities):
        from metadata.matching import text_key_digest

        own_text = text_key_digest(row.artist_name, row.title)
        own = [(identity, g) for identity, g in identities.items() if g["text"] == own_text]
        if not own:  # only other texts' listens, merged in by a curator
            self.rekey_row(row, row_identity(row))
            return
        own_identity = row_identity(row)
        from metadata.matching import identity_key_digest

        wanted = identity_key_digest(*own_identity)
        keeper = next((i for i, _ in own if i == wanted), None) or max(own, key=lambda item: len(item[1]["pks"]))[0]
        self.rekey_row(row, identities[keeper]["report"])
        for identity, group in own:
            if identity == keeper:
                continue
            artist, track, album, hint = group["report"]
            clone = self.unresolved_keys.get(identity)
            if clone is None:
                clone = self.new_row(
                    unresolved_key=identity,
                    text_key=own_text,
                    status=row.status,
                    title=row.title,
                    artist_name=row.artist_name,
                    album_name=(album or "")[:1000],
                    hint_mbid=hint,
                    length_ms=row.length_ms,
                    resolution_attempts=row.resolution_attempts,
                    last_attempt_at=row.last_attempt_at,
                    next_attempt_at=row.next_attempt_at,
                    last_error=row.last_error,
                )
                self.stats["unresolved rows split off"] += 1
            self.move(group["pks"], clone)

    def check_resolved(self, recording, identities, old_aliases):
        """Keep each identity's listens on ``recording`` unless their own verified
        source MBID or their own album's stored tracklist names another recording.
        Where their evidence cannot be checked here (a source MBID we have no row
        for) or their title's version disagrees with the recording (a plain "Polly"
        on the live one), they wait on an unresolved row of their own identity for
        the resolver, rather than the text's old answer being made theirs."""
        from metadata.matching import TrackText, verify_hint, versions_agree

        for identity, group in identities.items():
            artist, track, album, hint = group["report"]
            old = old_aliases.get(group["text"])
            decided_by = old.decided_by if old is not None else "resolver"
            target, why = recording, decided_by
            if decided_by != "curator":
                text = TrackText(track, artist, album or None)
                if hint and hint != str(recording.mbid):
                    hinted = self.by_mbid(hint)
                    if hinted is not None and verify_hint(text, self.candidate(hinted)):
                        target, why = hinted, "source_mbid"
                        self.stats["listens re-pointed by their source MBID"] += len(group["pks"])
                    elif hinted is None:
                        target = None  # the resolver checks that MBID
                elif hint == str(recording.mbid):
                    why = "source_mbid"
                if target is recording and album and hint != str(recording.mbid):
                    on_album = self.album_answer(text)
                    if on_album is not None and on_album.pk != recording.pk:
                        target, why = on_album, "resolver"
                        self.stats["listens re-pointed by their album"] += len(group["pks"])
                if target is recording and why != "source_mbid":
                    # The album's own name may say so ("MTV Unplugged …"): the answer
                    # stands, as a source's MBID would (it was given, not guessed now).
                    candidate = self.candidate(recording)
                    if not versions_agree(text, candidate, named_by_source=True):
                        target = None
            if target is None:
                self.stats["listens sent back to resolution"] += len(group["pks"])
                self.move(group["pks"], self.unresolved_row(identity, group))
                continue
            if target is not recording:
                self.move(group["pks"], target.pk)
            self.alias(identity, group, target, why, old)

    def unresolved_row(self, identity, group):
        from metadata.matching import text_key_digest

        row = self.unresolved_keys.get(identity)
        created = row is None
        if created:
            artist, track, album, hint = group["report"]
            row = self.new_row(
                unresolved_key=identity,
                text_key=text_key_digest(artist, track),
                status="unresolved",
                title=track[:1000],
                artist_name=artist[:2000],
                album_name=(album or "")[:1000],
                hint_mbid=hint,
            )
        self.stats["unresolved rows made"] += created
        return row

    def new_row(self, **fields):
        """An unresolved row, created in bulk with the others (``flush``)."""
        row = self.Recording(**fields)
        self.pending_new_rows.append(row)
        self.unresolved_keys[row.unresolved_key] = row
        return row

    def by_mbid(self, mbid):
        return self.recordings_by_mbid[mbid]

    def read_hinted(self, mbids):
        """The rows the source MBIDs name (None for those we have no row for), read
        in batches rather than a query per identity."""
        self.recordings_by_mbid = dict.fromkeys(mbids)
        mbids = sorted(mbids)
        for start in range(0, len(mbids), 500):  # bounded IN lists for SQLite
            rows = self.Recording.objects.filter(mbid__in=mbids[start : start + 500])
            for row in rows.select_related("artist_credit").order_by("-pk"):
                self.recordings_by_mbid[str(row.mbid)] = row  # the lowest pk last, as first() did

    def album_answer(self, text):
        """The recording the album's stored tracklist gives the text, if it is stored."""
        from metadata.matching import album_key, choose_recording

        memo = self.__dict__.setdefault("_albums", {})
        where = (album_key(text.album), text.artist.casefold())
        if where not in memo:
            memo[where] = self.album_candidates(text)
        rows, candidates = memo[where]
        if not candidates:
            return None
        decision = choose_recording(text, candidates)
        return rows.get(decision.mbid) if decision.mbid else None

    def album_candidates(self, text):
        from metadata.matching import RecordingCandidate, album_base, album_key, artist_matches

        wanted = album_key(text.album)
        groups = self.release_groups().get(wanted)
        if not groups:
            return {}, []
        # The title test the database made (``title__icontains``), asked of it only
        # where its case rules could answer otherwise than plain Python.
        part = album_base(text.album)[:50]
        named = {group.pk: _contains(group.title, part) for group in groups}
        unsure = [pk for pk, found in named.items() if found is None]
        if unsure:
            found = set(
                self.ReleaseGroup.objects.filter(pk__in=unsure, title__icontains=part).values_list(
                    "pk", flat=True
                )
            )
            named.update((pk, pk in found) for pk in unsure)
        for group in groups:
            if not named[group.pk]:
                continue
            credit = group.artist_credit
            names = self.credit_names(group.artist_credit_id)
            if not artist_matches(text.artist, names, credit.name if credit else ""):
                continue
            live = "Live" in (group.secondary_types or [])
            rows = {}
            candidates = []
            for t in self.album_tracks().get(group.pk, ()):
                rows[str(t.recording.mbid)] = t.recording
                candidates.append(RecordingCandidate(
                    mbid=str(t.recording.mbid), title=t.title, credited_names=names + (t.recording.artist_name,),
                    credit_display=t.recording.artist_name or (credit.name if credit else ""),
                    length_ms=t.length_ms or t.recording.length_ms, disambiguation=t.recording.disambiguation,
                    release_titles=(t.release.title,), on_live_releases_only=live,
                ))
            return rows, candidates
        return {}, []

    def release_groups(self):
        """Every release group by its album key, read once (a title search per album
        took a fifth of the run)."""
        every = self.__dict__.get("_release_groups")
        if every is None:
            from metadata.matching import album_key

            every = self._release_groups = defaultdict(list)
            for group in self.ReleaseGroup.objects.select_related("artist_credit").order_by("pk").iterator(chunk_size=2000):
                every[album_key(group.title)].append(group)
        return every

    def album_tracks(self):
        """The tracks of recordings with an MBID per release group, read once."""
        every = self.__dict__.get("_album_tracks")
        if every is None:
            every = self._album_tracks = defaultdict(list)
            tracks = self.Track.objects.filter(recording__mbid__isnull=False).select_related("recording", "release")
            for t in tracks.order_by("pk").iterator(chunk_size=2000):
                every[t.release.release_group_id].append(t)
        return every

    def candidate(self, recording):
        """The recording as the matcher sees it, built once per recording (its
        identities share it; each build reads its credit and releases)."""
        memo = self.__dict__.setdefault("_candidates", {})
        if recording.pk not in memo:
            memo[recording.pk] = _candidate(
                recording, self.releases([recording.pk]), self.credit_names(recording.artist_credit_id)
            )
        return memo[recording.pk]

    def credit_names(self, credit_id):
        """The credited and artist names of a credit, every credit read at once (two
        queries per recording otherwise)."""
        every = self.__dict__.get("_credit_names")
        if every is None:
            every = self._credit_names = defaultdict(tuple)
            for credit, name, artist in self.CreditName.objects.order_by("credit_id", "position").values_list(
                "credit_id", "name", "artist__name"
            ).iterator(chunk_size=5000):
                every[credit] += (name, artist)
        return every[credit_id] if credit_id else ()

    def releases(self, recording_ids):
        """Release titles and types per recording, all read once: a query per identity
        (about 100k at 1M listens) took much of the run."""
        every = self.__dict__.get("_releases")
        if every is None:
            every = self._releases = defaultdict(list)
            for recording_id, title, types in self.Track.objects.values_list(
                "recording_id", "release__title", "release__release_group__secondary_types"
            ).iterator(chunk_size=5000):
                every[recording_id].append((title, types or []))
        return {pk: every[pk] for pk in recording_ids if pk in every}

    def alias(self, identity, group, recording, decided_by, old):
        from metadata.matching import album_key

        artist, track, album, hint = group["report"]
        # The last answer for a key wins, as one update_or_create per alias did.
        self.pending_aliases[identity] = {
            "recording_id": recording.pk,
            "decided_by": decided_by,
            "curator_id": old.curator_id if old is not None and decided_by == "curator" else None,
            "scope": "identity",
            "text_key": group["text"],
            "artist_name": artist[:2000],
            "track_name": track[:1000],
            "album_name": (album or "")[:1000],
            "album_key": album_key(album)[:500],
            "hint_mbid": hint,
        }
        self.stats["identity aliases"] += 1

    def write_aliases(self):
        """The identity aliases, in bulk: existing keys updated, the rest created."""
        keys = sorted(self.pending_aliases)
        fields = [name for name in next(iter(self.pending_aliases.values()), {})]
        for start in range(0, len(keys), 500):  # bounded IN lists for SQLite
            batch = keys[start : start + 500]
            existing = {a.key: a for a in self.Alias.objects.filter(key__in=batch)}
            for key, alias in existing.items():
                for name, value in self.pending_aliases[key].items():
                    setattr(alias, name, value)
            if existing:
                self.Alias.objects.bulk_update(list(existing.values()), fields)
            self.insert_rows(
                self.Alias, [{"key": key, **self.pending_aliases[key]} for key in batch if key not in existing]
            )
        self.pending_aliases.clear()

    def insert_rows(self, model, rows):
        """Insert ``rows`` (field attname → value; the other fields get their defaults,
        ``auto_now`` ones the time now) with one ``executemany``: ``bulk_create``
        spent seconds building its SQL."""
        from django.utils import timezone

        if not rows:
            return
        connection, now = self.connection, timezone.now()
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        stamped = {field.attname for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)}
        defaults = {field.attname: field.get_default() for field in fields}
        qn = connection.ops.quote_name
        columns = ", ".join(qn(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        # Text and None go as they are: converting every value took most of the insert.
        prepare = [
            (field.attname, field.attname in stamped, field.get_internal_type() in ("CharField", "TextField"),
             field.get_db_prep_save)
            for field in fields
        ]
        values = []
        for row in rows:
            line = []
            for name, stamp, text, prep in prepare:
                value = now if stamp else row.get(name, defaults[name])
                line.append(value if value is None or (text and type(value) is str) else prep(value, connection))
            values.append(line)
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})", values)

    def convert_old_aliases(self, old_aliases):
        from metadata.matching import every_album_key_digest, text_key_digest

        # The alias keys as each step leaves them, so that the writes can go in bulk.
        keys = dict(self.Alias.objects.values_list("key", "pk"))
        kept, dropped = [], []
        for key, old in old_aliases.items():
            if old.decided_by == "curator":
                old.key = every_album_key_digest(old.artist_name, old.track_name)
                old.text_key = text_key_digest(old.artist_name, old.track_name)
                old.scope = "text"
                if keys.get(old.key, old.pk) == old.pk:
                    if keys.get(key) == old.pk:
                        del keys[key]
                    keys[old.key] = old.pk
                    kept.append(old)
                    self.stats["curator answers kept for every album"] += 1
                    continue
            if keys.get(key) == old.pk:
                del keys[key]
            dropped.append(old.pk)
            self.stats["text aliases replaced"] += 1
        for start in range(0, len(dropped), 500):  # bounded IN lists for SQLite
            self.Alias.objects.filter(pk__in=dropped[start : start + 500]).delete()
        self.Alias.objects.bulk_update(kept, ["key", "text_key", "scope"], batch_size=500)

    def mark_duplicates(self):
        """Pair the moved listens with their other-source copies. On SQLite, with the
        indexes listens.0006 makes for it: before them the planner takes the full
        ``duplicate_of`` index for ``duplicate_of IS NULL`` (its statistics make that
        look selective) and reads nearly every listen once per 500 moved ones (45 s
        of the run at 1M listens). The table's indexes are as they were afterwards."""
        from listens.duplicates import mark_duplicates_of_moved_listens

        def mark():
            return mark_duplicates_of_moved_listens(listen_ids=self.moved, model=self.Listen)

        if self.connection.vendor != "sqlite":
            return mark()
        meta, qn = self.Listen._meta, self.connection.ops.quote_name
        table = meta.db_table
        duplicate_of, user, recording, when = (
            qn(meta.get_field(name).column) for name in ("duplicate_of", "user", "recording", "listened_at")
        )
        with self.connection.cursor() as cursor:
            constraints = self.connection.introspection.get_constraints(cursor, table)
            full = [
                name for name, info in constraints.items()
                if info["index"] and not info["unique"] and info["columns"] == [meta.get_field("duplicate_of").column]
            ]
            cursor.execute(
                f"SELECT sql FROM sqlite_master WHERE type = 'index' AND name IN ({', '.join(['%s'] * len(full))})",
                full,
            )
            saved = [sql for (sql,) in cursor.fetchall()]
            cursor.execute(
                f"CREATE INDEX rekey_duplicate_of ON {qn(table)} ({duplicate_of}) WHERE {duplicate_of} IS NOT NULL"
            )
            cursor.execute(
                f"CREATE INDEX rekey_user_recording ON {qn(table)} ({user}, {recording}, {when}) "
                f"WHERE {duplicate_of} IS NULL"
            )
            for name in full:
                cursor.execute(f"DROP INDEX {qn(name)}")
        marked = mark()
        with self.connection.cursor() as cursor:
            for sql in saved:
                cursor.execute(sql)
            cursor.execute("DROP INDEX rekey_duplicate_of")
            cursor.execute("DROP INDEX rekey_user_recording")
        return marked

    def move(self, pks, target):
        """Re-point these listens to ``target`` (a row or its pk) when ``flush`` runs."""
        self.pending_moves.append((pks, target))
        self.moved.extend(pks)

    def flush(self):
        """The held writes: re-keyed rows, then new rows, then the listens moved (the
        last move of a listen wins, as when each was written at once)."""
        fields = ["unresolved_key", "text_key", "album_name", "hint_mbid"]
        self.update_rows(
            self.Recording, fields, [[row.pk, *(getattr(row, f) for f in fields)] for row in self.pending_rows.values()]
        )
        self.pending_rows.clear()
        if self.connection.features.can_return_rows_from_bulk_insert:
            self.Recording.objects.bulk_create(self.pending_new_rows, batch_size=500)
        else:  # SQLite before 3.35 gives no ids back from a bulk insert: one at a time
            for row in self.pending_new_rows:
                row.save(force_insert=True)
        self.pending_new_rows.clear()
        target_of = {}
        for pks, target in self.pending_moves:
            target_id = _pk(target)
            for pk in pks:
                target_of[pk] = target_id
        self.pending_moves.clear()
        self.update_rows(self.Listen, ["recording"], sorted(target_of.items()))

    def update_rows(self, model, fields, rows):
        """Set ``fields`` of many rows (``rows``: pk, then the values) in one UPDATE
        from a temporary table: a CASE per batch (``bulk_update``) or a query per row
        took most of the run."""
        if not rows:
            return
        connection = self.connection
        qn = connection.ops.quote_name
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        columns = [model._meta.get_field(name) for name in fields]
        names = [qn(field.column) for field in columns]
        moves = qn(f"rekey_{model._meta.db_table}")
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {moves} AS SELECT {pk}, {', '.join(names)} FROM {table} WHERE 1 = 0"
            )
            cursor.execute(f"CREATE UNIQUE INDEX {qn(f'rekey_{model._meta.db_table}_pk')} ON {moves} ({pk})")
            marks = ", ".join(["%s"] * (len(names) + 1))
            for start in range(0, len(rows), 5000):
                cursor.executemany(
                    f"INSERT INTO {moves} VALUES ({marks})",
                    [
                        [row[0], *(field.get_db_prep_value(value, connection) for field, value in zip(columns, row[1:]))]
                        for row in rows[start : start + 5000]
                    ],
                )
            sets = ", ".join(f"{name} = (SELECT m.{name} FROM {moves} m WHERE m.{pk} = {table}.{pk})" for name in names)
            cursor.execute(f"UPDATE {table} SET {sets} WHERE {pk} IN (SELECT {pk} FROM {moves})")
            cursor.execute(f"DROP TABLE {moves}")


def _contains(title, part):
    """Whether ``title`` contains ``part`` ignoring case, as every database's
    ``icontains`` agrees; None where they may not (letters beyond ASCII)."""
    if part in title:
        return True
    if title.isascii() and part.isascii():
        return part.lower() in title.lower()
    return None


def _pk(row):
    """A row's pk, or the pk itself (a row made in bulk has one only after ``flush``)."""
    return row if isinstance(row, int) else row.pk


def row_identity(row):
    return (row.artist_name, row.title, row.album_name, str(row.hint_mbid) if row.hint_mbid else None)


def rekey_identities(apps, schema_editor):
    stats = _Rekey(apps, schema_editor).run()
    if stats.get("listens read") or stats.get("unresolved rows re-keyed"):
        print("\n  album-aware identity: " + ", ".join(f"{k} {v}" for k, v in stats.items()))


class Migration(migrations.Migration):
    dependencies = [
        ("listens", "0004_ingest_run_kind"),
        ("metadata", "0004_album_aware_identity"),
    ]

    operations = [
        migrations.RunPython(rekey_identities, migrations.RunPython.noop, elidable=False),
    ]
