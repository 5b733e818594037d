"""portal.units.datetime_formatter writes what django.utils.dateformat writes, in every language's
short date-and-time format and in formats its fast path must leave to dateformat."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, translation
from django.utils.formats import get_format

from portal.units import datetime_formatter

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
