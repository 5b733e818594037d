"""How sizes and money read on a page. Sizes are integer bytes with 1 GB = 10^9 bytes; money is
integer öre. Both are formatted in the active language (decimal comma in Swedish)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.utils import dateformat
from django.utils.formats import get_format, number_format

# Django date format characters that strftime writes the same way (zero-padded numbers).
_STRFTIME = {"Y": "%Y", "m": "%m", "d": "%d", "H": "%H", "i": "%M", "s": "%S", "y": "%y"}


def human_size(size: int) -> str:
    """1 234 567 bytes -> "1.2 MB" ("1,2 MB" in Swedish); decimal units, as everywhere in the portal.
    A list of many sizes takes size_formatter() once instead."""
    return size_formatter()(size)


def size_formatter() -> Callable[[int], str]:
    """human_size as a function, for a list that formats many, in the language active now: the
    decimal separator read once, not once a row (number_format, which human_size used, looked up
    the language and its format for every call: about 20 microseconds a row of a search page,
    bench/pages.py). One decimal, as number_format(round(x, 1), decimal_pos=1) wrote it."""
    separator = str(get_format("DECIMAL_SEPARATOR"))

    def size(value: int) -> str:
        if value < 1000:
            return f"{value} B"
        number = float(value)
        for unit in ("kB", "MB", "GB", "TB"):
            number /= 1000
            if number < 1000 or unit == "TB":
                return f"{round(number, 1):.1f} {unit}".replace(".", separator, 1)
        raise AssertionError("unreachable")

    return size


def format_sek(ore: int) -> str:
    """7 900 öre -> "79,00 kr" in Swedish, "79.00 kr" in English, thousands grouped."""
    return f"{number_format(Decimal(ore) / 100, decimal_pos=2, force_grouping=True)} kr"


def datetime_formatter(fmt: str) -> Callable[[dt.datetime], str]:
    """A function writing datetimes in Django's date format `fmt` (e.g. SHORT_DATETIME_FORMAT), for
    a list that formats many: a format of only numbers and separators ("Y-m-d H:i", Swedish) goes
    through strftime, about ten times faster than django.utils.dateformat; any other (names of
    months, "P", escapes) through dateformat.format."""
    if all(c in _STRFTIME or not (c.isalpha() or c in "\\%") for c in fmt):
        pattern = "".join(_STRFTIME.get(c, c) for c in fmt)
        return lambda value: value.strftime(pattern)
    return lambda value: dateformat.format(value, fmt)
