"""When the embedded index's writer merges segments (`coach.index.writing._merge_from`): small
saves never rewrite a large segment, each record is rewritten about log2(n) times, and the
segments stay few; a writer's pruning spares a merge running behind it."""

from __future__ import annotations

import math
from pathlib import Path

from coach.index import writing
from coach.index.generations import Generations
from coach.index.writing import _merge_from

BASE = 190_000  # records of the base at 10,000 documents


def saves(count: int, size: int) -> tuple[list[int], int, int]:
    """The segments after `count` saves of `size` records each, as the writer merges them; the
    records all the merges wrote, and the most segments there ever were."""
    sizes, written, most = [BASE], 0, 1
    for _ in range(count):
        sizes.append(size)
        most = max(most, len(sizes))
        start = _merge_from(sizes, full=False)
        if start is not None:
            assert start >= 1  # these saves never outweigh the base
            written += sum(sizes[start:])
            sizes = [*sizes[:start], sum(sizes[start:])]
    return sizes, written, most


def test_a_small_save_does_not_rewrite_a_larger_segment_before_it() -> None:
    assert _merge_from([BASE, 1_843, 14], full=False) is None
    assert _merge_from([BASE, 1_843, 14, 20], full=False) == 2
    assert _merge_from([BASE, 40, 20, 20], full=False) == 1  # 20+20 reach 40: all three merge
    assert _merge_from([BASE, 34, 20, 18], full=False) is None


def test_saves_are_rewritten_about_log2_times_and_segments_stay_few() -> None:
    count, size = 1_000, 20
    sizes, written, most = saves(count, size)
    assert sum(sizes) == BASE + count * size  # nothing lost, nothing twice
    assert written <= count * size * math.log2(count)  # each record about log2(n) times
    assert most <= math.log2(count) + 3
    assert all(older > sum(sizes[i + 1 :]) for i, older in enumerate(sizes[1:-1], start=1))


def test_past_the_limit_the_newer_segments_merge_and_past_the_share_everything() -> None:
    halving = [10_000 >> n for n in range(writing.MAX_SEGMENTS)]  # no two would merge
    assert _merge_from([BASE, *halving[:-1]], full=False) is None
    assert _merge_from([BASE, *halving], full=False) == 1
    assert _merge_from([BASE, BASE // 4 + 1], full=False) == 0
    assert _merge_from([BASE, 5], full=True) == 0
    assert _merge_from([BASE], full=False) is None


def test_pruning_spares_a_merge_in_progress_and_removes_a_crashed_ones(tmp_path: Path) -> None:
    generations = Generations(tmp_path / "index")
    base = generations.stage()
    generations.publish([base])
    with generations.merging() as mine:
        assert mine
        with generations.merging() as another:
            assert not another  # one merge at a time
        merging = generations.stage(merging=True)
        orphan = generations.stage()  # a crashed writer's
        generations.prune(keep_previous=[])
        assert merging.is_dir() and not orphan.exists()
    generations.prune(keep_previous=[])  # its merge lock is free: a crashed merge's
    assert not merging.exists() and base.is_dir()
    settled = generations.stage(merging=True)
    generations.settle(settled)
    generations.publish([base, settled])
    generations.prune(keep_previous=[])
    assert generations.segments() == [base, settled]
