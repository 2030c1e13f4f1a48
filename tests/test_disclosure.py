"""The small-number rule (core/disclosure.py): counts of 1 to 4 in a segment are not shown."""

from bulletin.core.disclosure import SMALL_COUNT, shown_count, shown_count_text
from bulletin.web import small_count


def test_counts_under_five_are_hidden_and_zero_and_five_are_shown():
    assert SMALL_COUNT == 5
    assert [shown_count(n) for n in range(7)] == [0, None, None, None, None, 5, 6]
    assert shown_count_text(3, "fewer than 5") == "fewer than 5"
    assert shown_count_text(1200, "fewer than 5") == "1200"


def test_the_page_filter_says_fewer_than_five_in_each_language(app):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("en"):
            assert small_count(2) == "fewer than 5"
            assert small_count(12345) == "12,345"
        with force_locale("cy"):
            assert small_count(4) == "llai na 5"
