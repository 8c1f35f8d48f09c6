"""The definitions behind album progress and overlap, on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clubs.progress import Album, AlbumTrack, BonusTrack, album_progress, full_listens, overlap

T0 = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)


def album(n_tracks: int = 10, length_ms: int | None = 200_000, bonus: int = 0) -> Album:
    tracks = tuple(
        AlbumTrack(n, f"mbid-{n}", 1, n, str(n), f"Song {n}", length_ms)
        for n in range(1, n_tracks + 1)
    )
    extra = tuple(
        BonusTrack(AlbumTrack(100 + n, f"b-{n}", 1, n_tracks + n, "", f"Bonus {n}", 1), ("d",))
        for n in range(1, bonus + 1)
    )
    return Album("rg", "Night Drive", "The Weeknights", tracks, extra, ())


def minutes(*offsets: float) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in offsets]


def test_nine_of_ten_tracks_in_any_order_within_the_window_is_a_full_listen():
    # 10 × 200 s = 2000 s; window 3000 s = 50 min. Nine distinct tracks, shuffled.
    order = [9, 3, 1, 7, 5, 2, 8, 4, 6]
    ordered = list(zip(order, minutes(*range(0, 45, 5)), strict=True))

    (found,) = full_listens(album(), ordered)

    assert (found.started_at, found.finished_at) == (T0, T0 + timedelta(minutes=40))


def test_eight_of_ten_tracks_is_not_a_full_listen():
    ordered = list(zip(range(1, 9), minutes(*range(0, 40, 5)), strict=True))
    assert full_listens(album(), ordered) == ()


def test_a_session_slower_than_one_and_a_half_album_lengths_is_not_a_full_listen():
    # Nine tracks over 51 minutes: the window is 50.
    ordered = list(zip(range(1, 10), minutes(0, 6, 12, 18, 24, 30, 36, 42, 51), strict=True))
    assert full_listens(album(), ordered) == ()


def test_a_late_start_is_skipped_and_the_full_listen_found_after_it():
    ordered = [(1, T0 - timedelta(hours=5))] + list(
        zip(range(1, 10), minutes(*range(0, 45, 5)), strict=True)
    )
    (found,) = full_listens(album(), ordered)
    assert found.started_at == T0


def test_repeats_do_not_make_a_full_listen_and_two_sessions_count_twice():
    repeats = [(1, at) for at in minutes(*range(0, 45, 5))]
    assert full_listens(album(), repeats) == ()
    first = list(zip(range(1, 11), minutes(*range(0, 50, 5)), strict=True))
    second = list(zip(range(1, 11), minutes(*range(120, 170, 5)), strict=True))
    sessions = full_listens(album(), first + second)
    assert [s.started_at for s in sessions] == [T0, T0 + timedelta(minutes=120)]


def test_unknown_lengths_count_as_a_typical_track():
    assert album(length_ms=None).length_ms == 10 * 240_000


def test_progress_counts_plays_first_and_last_and_share_of_the_tracklist():
    at = minutes(0, 5, 10, 60)
    listens = [(1, at[2]), (1, at[0]), (2, at[1]), (101, at[3]), (999, at[3])]

    progress = album_progress(album(bonus=1), listens)

    assert progress.heard == 2
    assert progress.share_heard == 0.2
    assert progress.listen_count == 4  # the bonus track counts; recording 999 is not on it
    assert progress.plays[1].count == 2
    assert (progress.plays[1].first, progress.plays[1].last) == (at[0], at[2])
    assert (progress.first_listen, progress.last_listen) == (at[0], at[3])


def test_overlap_is_the_sum_of_the_smaller_shares_of_shared_items():
    a = [("x", "X", 50), ("y", "Y", 30), ("z", "Z", 20)]
    b = [("y", "Y", 10), ("x", "X", 10), ("w", "W", 80)]

    found = overlap(a, b, total_a=100, total_b=100)

    assert found.score == 0.2  # min(.5, .1) + min(.3, .1)
    assert [s.key for s in found.shared] == ["x", "y"]
    assert overlap(a, a, total_a=100, total_b=100).score == 1.0
    assert overlap(a, [], total_a=100, total_b=0).score == 0.0
