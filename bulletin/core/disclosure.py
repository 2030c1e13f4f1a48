"""The small-number rule: a count under SMALL_COUNT in a segment is not shown exactly.

Reports break figures down by send, link, language, region and topic. A count of 1 in a
small region could single out a reader, so every figure an editor sees in a breakdown
goes through `shown_count`; templates use the `small_count` filter (web.py), CSV exports
use `shown_count_text`. Totals for a whole send are shown exactly only when they are not
themselves a segment of readers smaller than SMALL_COUNT.
"""

from __future__ import annotations

#: The smallest count shown exactly; below it a figure reads "fewer than 5".
SMALL_COUNT = 5


def shown_count(count: int) -> int | None:
    """`count` when it may be shown exactly, None when it is 1 to SMALL_COUNT - 1.

    Zero is shown: it singles out nobody.
    """
    if 0 < count < SMALL_COUNT:
        return None
    return count


def shown_count_text(count: int, fewer_words: str) -> str:
    """`count` as text, or `fewer_words` (e.g. "fewer than 5", translated) when small."""
    shown = shown_count(count)
    return fewer_words if shown is None else str(shown)
