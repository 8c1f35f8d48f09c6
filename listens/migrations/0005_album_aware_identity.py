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
        self.Recording = apps.get_model("metadata", "Recording")
        self.Alias = apps.get_model("metadata", "RecordingAlias")
        self.Track = apps.get_model("metadata", "Track")
        self.CreditName = apps.get_model("metadata", "ArtistCreditName")
        self.ReleaseGroup = apps.get_model("metadata", "ReleaseGroup")
        self.Listen = apps.get_model("listens", "ListenEvent")
        self.moved = []  # listen pks re-pointed
        self.pending_aliases = {}  # key → fields: written in bulk (one query per alias took minutes)
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
        for recording_id, identities in by_recording.items():
            recording = recordings[recording_id]
            if recording.mbid is None:
                self.split_unresolved(recording, identities)
            else:
                self.check_resolved(recording, identities, old_aliases)
        self.write_aliases()
        self.convert_old_aliases(old_aliases)
        if self.moved:
            from listens.duplicates import mark_duplicates_of_moved_listens

            self.stats["duplicates marked"] = mark_duplicates_of_moved_listens(
                listen_ids=self.moved, model=self.Listen
            )
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
                "pk", "account_id", "listened_at", "recording_id", "source", "artist_name",
                "track_name", "album_name", "track_key", "lastfm_mbid", "lb_submitted", "lb_mapped",
            )
        )
        rekeyed = []
        for (pk, account_id, when, recording_id, source, artist, track, album, key,
             lastfm_mbid, lb_submitted, lb_mapped) in rows.iterator(chunk_size=5000):
            self.stats["listens read"] += 1
            text = text_key_digest(artist, track)
            if text != key:
                rekeyed.append((pk, account_id, when, text))
            hint = _hint(source, lastfm_mbid, lb_submitted, lb_mapped)
            identity = identity_key_digest(artist, track, album, hint)
            group = groups.get((recording_id, identity))
            if group is None:
                group = groups[(recording_id, identity)] = {
                    "pks": [], "report": (artist, track, album, hint), "text": text,
                }
            group["pks"].append(pk)
        for pk, account_id, when, text in rekeyed:
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
        taken = self.Recording.objects.filter(unresolved_key=key).exclude(pk=row.pk).first()
        if taken is not None:
            pks = list(self.Listen.objects.filter(recording_id=row.pk).values_list("pk", flat=True))
            self.move(pks, taken.pk)
            self.Alias.objects.filter(recording_id=row.pk).update(recording_id=taken.pk)
            for fields in self.pending_aliases.values():
                if fields["recording_id"] == row.pk:
                    fields["recording_id"] = taken.pk
            row.delete()
            self.stats["unresolved rows folded together"] += 1
            return
        row.unresolved_key = key
        row.text_key = text_key_digest(artist, track)
        row.album_name = (album or "")[:1000]
        row.hint_mbid = hint
        row.save(update_fields=["unresolved_key", "text_key", "album_name", "hint_mbid"])
        self.stats["unresolved rows re-keyed"] += 1

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
            clone = self.Recording.objects.filter(unresolved_key=identity).first()
            if clone is None:
                clone = self.Recording.objects.create(
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
            self.move(group["pks"], clone.pk)

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
                    hinted = self.Recording.objects.filter(mbid=hint).select_related("artist_credit").first()
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
                self.move(group["pks"], self.unresolved_row(identity, group).pk)
                continue
            if target is not recording:
                self.move(group["pks"], target.pk)
            self.alias(identity, group, target, why, old)

    def unresolved_row(self, identity, group):
        from metadata.matching import text_key_digest

        artist, track, album, hint = group["report"]
        row, created = self.Recording.objects.get_or_create(
            unresolved_key=identity,
            defaults={
                "text_key": text_key_digest(artist, track),
                "status": "unresolved",
                "title": track[:1000],
                "artist_name": artist[:2000],
                "album_name": (album or "")[:1000],
                "hint_mbid": hint,
            },
        )
        self.stats["unresolved rows made"] += created
        return row

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
        from metadata.matching import RecordingCandidate, album_key, artist_matches

        from metadata.matching import album_base

        wanted = album_key(text.album)
        for group in self.ReleaseGroup.objects.filter(title__icontains=album_base(text.album)[:50]).select_related("artist_credit")[:1000]:
            if album_key(group.title) != wanted:
                continue
            credit = group.artist_credit
            names = self.credit_names(group.artist_credit_id)
            if not artist_matches(text.artist, names, credit.name if credit else ""):
                continue
            tracks = self.Track.objects.filter(release__release_group=group, recording__mbid__isnull=False).select_related("recording", "release")
            live = "Live" in (group.secondary_types or [])
            rows = {}
            candidates = []
            for t in tracks:
                rows[str(t.recording.mbid)] = t.recording
                candidates.append(RecordingCandidate(
                    mbid=str(t.recording.mbid), title=t.title, credited_names=names + (t.recording.artist_name,),
                    credit_display=t.recording.artist_name or (credit.name if credit else ""),
                    length_ms=t.length_ms or t.recording.length_ms, disambiguation=t.recording.disambiguation,
                    release_titles=(t.release.title,), on_live_releases_only=live,
                ))
            return rows, candidates
        return {}, []

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
            self.Alias.objects.bulk_create(
                [self.Alias(key=key, **self.pending_aliases[key]) for key in batch if key not in existing]
            )
        self.pending_aliases.clear()

    def convert_old_aliases(self, old_aliases):
        from metadata.matching import every_album_key_digest, text_key_digest

        for key, old in old_aliases.items():
            if old.decided_by == "curator":
                old.key = every_album_key_digest(old.artist_name, old.track_name)
                old.text_key = text_key_digest(old.artist_name, old.track_name)
                old.scope = "text"
                if not self.Alias.objects.filter(key=old.key).exclude(pk=old.pk).exists():
                    old.save(update_fields=["key", "text_key", "scope"])
                    self.stats["curator answers kept for every album"] += 1
                    continue
            old.delete()
            self.stats["text aliases replaced"] += 1

    def move(self, pks, recording_id):
        for start in range(0, len(pks), 500):
            self.Listen.objects.filter(pk__in=pks[start : start + 500]).update(recording_id=recording_id)
        self.moved.extend(pks)


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
