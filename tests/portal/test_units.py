"""portal.units.datetime_formatter writes what django.utils.dateformat writes, in every language's
short date-and-time format and in formats its fast path must leave to dateformat."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, translation
from django.utils.formats import get_format, number_format

from portal.units import datetime_formatter, human_size, size_formatter

MOMENTS = [
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("Europe/Stockholm")),
    dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("Europe/Stockholm")),
    dt.datetime(2026, 7, 14, 12, 0, 0, tzinfo=ZoneInfo("Europe/Stockholm")),
    dt.datetime(2026, 3, 29, 0, 30, 0, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_short_datetime_format_of_each_language(language: str) -> None:
    with translation.override(language):
        fmt = get_format("SHORT_DATETIME_FORMAT")
        fast = datetime_formatter(fmt)
        for moment in MOMENTS:
            assert fast(moment) == dateformat.format(moment, fmt)


@pytest.mark.parametrize(
    "fmt",
    [
        "Y-m-d H:i",
        "d.m.Y H:i:s",
        "y/m/d",
        "m/d/Y P",
        "j F Y, H:i",
        "N j, Y",
        r"Y-m-d \k\l. H:i",
        "Y-m-d 100%",
        "D H:i",
    ],
)
def test_formats_with_names_escapes_or_percent_signs_come_out_as_dateformat_writes_them(fmt: str) -> None:
    fast = datetime_formatter(fmt)
    with translation.override("sv"):
        for moment in MOMENTS:
            assert fast(moment) == dateformat.format(moment, fmt)


SIZES = [0, 1, 999, 1000, 1049, 1050, 1051, 9_999, 99_949, 99_950, 999_949, 999_950, 999_999, 1_000_000]
SIZES += [1_234_567, 45_678_901, 999_950_000, 10**9, 5 * 10**12 + 49 * 10**9, 10**15, 1234 * 10**15]
SIZES += [(7**k) % (10**13) for k in range(1, 60)]  # spread over every unit


def _number_format_size(size: int) -> str:
    """human_size as it was written with Django's number_format, before size_formatter."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{number_format(round(value, 1), decimal_pos=1)} {unit}"
    raise AssertionError("unreachable")


@pytest.mark.parametrize("language", ["sv", "en"])
def test_sizes_read_as_number_format_wrote_them(language: str) -> None:
    with translation.override(language):
        size = size_formatter()
        expected = [_number_format_size(n) for n in SIZES]
        assert [size(n) for n in SIZES] == expected
        assert [human_size(n) for n in SIZES] == expected
        assert size(1_234_567) == ("1,2 MB" if language == "sv" else "1.2 MB")
