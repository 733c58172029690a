"""The transparency page's rule: no count under 5 is shown, nor can be worked out from the
totals shown. Checked by brute force: a reader who knows the rule lists every set of values the
hidden cells could have; each small cell must still have at least two."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.supervision.transparency import HIDDEN, SHOWN, SMALL, protect

MINIMUM = 5


def possible_values(values, marks, total, minimum=MINIMUM) -> dict[int, set[int]]:
    """For each small cell, every value it can take given what the page shows: the shown
    cells, "< 5" (1–4) for small ones, "ẩn" (at least 5, else it would say "< 5") for hidden
    ones, and the total."""
    shown = sum(v for v, m in zip(values, marks, strict=True) if m == SHOWN)
    unknown = [i for i, m in enumerate(marks) if m != SHOWN]
    ranges = [range(1, minimum) if marks[i] == SMALL else range(minimum, total + 1)
              for i in unknown]
    found = {i: set() for i in unknown if marks[i] == SMALL}
    for combination in itertools.product(*ranges):
        if shown + sum(combination) == total:
            for i, value in zip(unknown, combination, strict=True):
                if i in found:
                    found[i].add(value)
    return found


def assert_not_derivable(values, marks, total_shown):
    assert all(m != SHOWN for v, m in zip(values, marks, strict=True) if 0 < v < MINIMUM)
    if total_shown:
        for index, candidates in possible_values(values, marks, sum(values)).items():
            assert values[index] in candidates
            assert len(candidates) >= 2, (values, marks, index, candidates)


def test_a_lone_small_count_takes_a_second_cell_with_it():
    marks, total_ok = protect([3, 7, 0, 12], total=22)
    assert marks == [SMALL, HIDDEN, SHOWN, SHOWN] and total_ok
    assert possible_values([3, 7, 0, 12], marks, 22) == {0: {1, 2, 3, 4}}


def test_two_small_counts_that_would_pin_each_other_are_protected_too():
    # 4 + 4 = 8 left once the 20 is subtracted: both would be 4. Another cell goes.
    marks, total_ok = protect([4, 4, 20], total=28)
    assert marks == [SMALL, SMALL, HIDDEN] and total_ok
    assert_not_derivable([4, 4, 20], marks, total_ok)


def test_a_column_too_small_to_protect_withholds_its_total():
    marks, total_ok = protect([1, 5], total=6)  # 1 + at least 5 = 6: nothing could hide it
    assert not total_ok and marks[0] == SMALL


def test_zeros_are_shown_and_nothing_is_hidden_without_small_counts():
    assert protect([0, 0, 9, 15], total=24) == ([SHOWN] * 4, True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=14), min_size=1, max_size=6))
def test_no_small_count_is_ever_shown_or_derivable(values):
    marks, total_ok = protect(values, total=sum(values))
    assert_not_derivable(values, marks, total_ok)
