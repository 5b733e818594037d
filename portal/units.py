"""How sizes and money read on a page. Sizes are integer bytes with 1 GB = 10^9 bytes; money is
integer öre. Both are formatted in the active language (decimal comma in Swedish)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import number_format


def human_size(size: int) -> str:
    """1 234 567 bytes -> "1.2 MB" ("1,2 MB" in Swedish); decimal units, as everywhere in the portal."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{number_format(round(value, 1), decimal_pos=1)} {unit}"
    raise AssertionError("unreachable")


def format_sek(ore: int) -> str:
    """7 900 öre -> "79,00 kr" in Swedish, "79.00 kr" in English, thousands grouped."""
    return f"{number_format(Decimal(ore) / 100, decimal_pos=2, force_grouping=True)} kr"
