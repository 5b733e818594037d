from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from portal.validators import (
    normalize_mobile,
    normalize_orgnr,
    normalize_personnummer,
    validate_orgnr,
    validate_personnummer,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The messages are asserted as written in the source; the default language is Swedish.
    with translation.override("en"):
        yield


def _message(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(error.value.messages[0])


# --- personnummer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["19811218-9876", "198112189876", "811218-9876", "8112189876", " 19811218-9876 ", "811218 9876"],
)
def test_personnummer_in_any_common_form_normalises_to_twelve_digits(raw: str) -> None:
    assert normalize_personnummer(raw) == "198112189876"


def test_personnummer_with_plus_is_a_centenarian() -> None:
    # "+" instead of "-" in the ten-digit form means the person is 100 or older.
    assert normalize_personnummer("811218+9876") == "188112189876"


def test_personnummer_with_wrong_check_digit_is_refused_with_a_checksum_message() -> None:
    with pytest.raises(ValidationError) as error:
        normalize_personnummer("19811218-9875")
    assert error.value.code == "checksum"
    assert _message(error) == "The personal identity number is not valid (the check digit is wrong)."


@pytest.mark.parametrize("raw", ["19811318-9876", "19810230-9876", "811300-9876"])
def test_personnummer_with_impossible_date_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_personnummer(raw)
    assert error.value.code == "invalid"
    assert _message(error) == "The personal identity number is not valid."


@pytest.mark.parametrize(
    "raw", ["", "abc", "1981-12-18", "19811218-98", "12345", "19811218_9876", "a9811218-9876"]
)
def test_personnummer_garbage_is_refused_with_the_expected_format(raw: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_personnummer(raw)
    assert error.value.code == "format"
    assert _message(error) == "Enter a personal identity number as YYYYMMDD-NNNN."


def test_validate_personnummer_raises_on_invalid_and_accepts_valid() -> None:
    validate_personnummer("19811218-9876")
    with pytest.raises(ValidationError):
        validate_personnummer("19811218-9875")


# --- organisation number ----------------------------------------------------------------


@pytest.mark.parametrize("raw", ["556036-0793", "5560360793", " 556036-0793 ", "556036 0793"])
def test_orgnr_normalises_to_dashed_form(raw: str) -> None:
    assert normalize_orgnr(raw) == "556036-0793"


def test_orgnr_with_wrong_check_digit_is_refused_with_a_checksum_message() -> None:
    with pytest.raises(ValidationError) as error:
        normalize_orgnr("556036-0794")
    assert error.value.code == "checksum"
    assert _message(error) == "The organisation number is not valid (the check digit is wrong)."


@pytest.mark.parametrize("raw", ["", "abc", "55603607", "16556036-0793", "556036-07931"])
def test_orgnr_garbage_is_refused_with_the_expected_format(raw: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_orgnr(raw)
    assert error.value.code == "invalid"
    assert _message(error) == "Enter an organisation number as NNNNNN-NNNN."


def test_validate_orgnr_raises_on_invalid_and_accepts_valid() -> None:
    validate_orgnr("556036-0793")
    with pytest.raises(ValidationError):
        validate_orgnr("556036-0794")


# --- mobile number ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "070-123 45 67",
        "0701234567",
        "+46 70 123 45 67",
        "+46701234567",
        "0046 70 123 45 67",
        "(070) 123-45-67",
    ],
)
def test_swedish_mobile_normalises_to_e164(raw: str) -> None:
    assert normalize_mobile(raw) == "+46701234567"


def test_foreign_mobile_keeps_its_country_code() -> None:
    assert normalize_mobile("+47 412 34 567") == "+4741234567"


@pytest.mark.parametrize(
    "raw", ["", "abc", "070-ABC", "12", "+0701234567", "070123456789012345", "+46 70 12x 45 67"]
)
def test_mobile_garbage_is_refused_with_an_example(raw: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_mobile(raw)
    assert _message(error) == "Enter a mobile number such as 070-123 45 67 or +46 70 123 45 67."
