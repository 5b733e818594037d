"""Logging in and out, page language, the profile page and switching organisation."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import CustomerMembership
from partners.models import PartnerRole
from portal.models import User
from tests.conftest import World
from tests.customers.test_tasks import use_swedish_catalog
from tests.factories import PASSWORD, CustomerMembershipFactory, PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_HEADING = "Log in to the partner portal"
RESET_SUBJECT = "Choose a new password for the partner portal"


def _page(response: Any) -> str:
    return response.content.decode()


def _html_lang(response: Any) -> str:
    match = re.search(r'<html lang="([^"]*)">', _page(response))
    assert match is not None
    return match.group(1)


def _english(client: Client) -> Client:
    """An anonymous visitor who picked English, so messages can be asserted as written."""
    client.post(reverse("set_language"), {"language": "en"})
    return client


# --- Log in, log out --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["anna.berg@example.com", "Anna.Berg@Example.COM", "ANNA.BERG@EXAMPLE.COM"])
def test_login_by_email_in_any_case(client: Client, typed: str) -> None:
    user = UserFactory.create(email="anna.berg@example.com")
    response = client.post(reverse("login"), {"username": typed, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_is_refused_with_a_message(client: Client) -> None:
    user = UserFactory.create(email="anna.berg@example.com")
    response = _english(client).post(reverse("login"), {"username": user.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "The email address or password is wrong." in _page(response)


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client: Client) -> None:
    response = _english(client).post(
        reverse("login"), {"username": "nobody@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "The email address or password is wrong." in _page(response)


def test_inactive_user_cannot_log_in(client: Client) -> None:
    user = UserFactory.create(is_active=False)
    client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_logout_by_post(client: Client) -> None:
    user = UserFactory.create()
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("profile")).status_code == 302  # back to the login page


def test_logout_by_get_is_not_allowed(client: Client) -> None:
    client.force_login(UserFactory.create())
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session


def test_anonymous_visitor_is_sent_to_login(client: Client) -> None:
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Page language -----------------------------------------------------------------------


def test_login_page_is_swedish_by_default_and_english_after_choosing_it(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    use_swedish_catalog(settings, tmp_path, {LOGIN_HEADING: "[sv] Log in"})
    # A browser asking for English does not matter: the portal speaks Swedish until told otherwise.
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert _html_lang(response) == "sv"
    assert response.headers["Content-Language"] == "sv"
    assert LOGIN_HEADING not in _page(response)

    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    response = client.get(reverse("login"))
    assert _html_lang(response) == "en"
    assert response.headers["Content-Language"] == "en"
    assert LOGIN_HEADING in _page(response)


def test_unknown_language_is_ignored(client: Client, settings: Any) -> None:
    response = client.post(reverse("set_language"), {"language": "de"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert _html_lang(client.get(reverse("login"))) == "sv"


def test_set_language_does_not_redirect_off_site(client: Client) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_set_language_needs_post(client: Client) -> None:
    assert client.get(reverse("set_language"), {"language": "en"}).status_code == 405


def test_logged_in_english_user_gets_english_pages_whatever_the_cookie(client: Client, settings: Any) -> None:
    client.force_login(UserFactory.create(language="en"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    response = client.get(reverse("profile"))
    assert response.status_code == 200
    assert _html_lang(response) == "en"
    assert response.headers["Content-Language"] == "en"
    assert "My account" in _page(response)


def test_changing_language_while_logged_in_is_saved_on_the_account(client: Client) -> None:
    user = UserFactory.create(language="sv")
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("profile")})
    assert response.status_code == 302
    assert response["Location"] == reverse("profile")
    user.refresh_from_db()
    assert user.language == "en"
    # It follows the user to a new session, where there is no cookie.
    other = Client()
    other.force_login(user)
    assert _html_lang(other.get(reverse("profile"))) == "en"


# --- Password reset --------------------------------------------------------------------------


def test_password_reset_email_is_in_the_users_language_not_the_pages(
    client: Client, mailoutbox: list[Any], settings: Any, tmp_path: Path
) -> None:
    use_swedish_catalog(settings, tmp_path, {RESET_SUBJECT: "[sv] new password"})
    english = UserFactory.create(language="en", email="eve@example.com")
    swedish = UserFactory.create(language="sv", email="sven@example.com")

    # A Swedish page (the default) sends the English user an English email ...
    response = client.post(reverse("password_reset"), {"email": "EVE@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    # ... and an English page sends the Swedish user a Swedish one.
    _english(client).post(reverse("password_reset"), {"email": swedish.email})

    assert [m.to for m in mailoutbox] == [[english.email], [swedish.email]]
    assert mailoutbox[0].subject == RESET_SUBJECT
    assert mailoutbox[1].subject != RESET_SUBJECT
    assert "/accounts/reset/" in mailoutbox[0].body


def test_invited_user_who_never_chose_a_password_can_ask_for_a_new_link(
    client: Client, mailoutbox: list[Any]
) -> None:
    """The expired set-password page sends people to "Ask for a new link": it must not be a dead end
    for exactly those people (Django's default skips users without a usable password)."""
    user = User.objects.create_user(email="invited@example.com", name="Ida Invited", language="en")
    response = client.post(reverse("password_reset"), {"email": "invited@example.com"})
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[user.email]]
    match = re.search(r"https?://\S+(/accounts/reset/\S+/)", mailoutbox[0].body)
    assert match is not None
    form_url = client.get(match.group(1))["Location"]
    response = client.post(
        form_url, {"new_password1": "Blue-Otter-Canyon-42", "new_password2": "Blue-Otter-Canyon-42"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Blue-Otter-Canyon-42")


def test_inactive_user_gets_no_reset_email(client: Client, mailoutbox: list[Any]) -> None:
    user = UserFactory.create(is_active=False)
    client.post(reverse("password_reset"), {"email": user.email})
    assert mailoutbox == []


def test_password_reset_for_unknown_email_sends_nothing_but_looks_the_same(
    client: Client, mailoutbox: list[Any]
) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mailoutbox == []


# --- Profile ------------------------------------------------------------------------------


def _profile_data(**overrides: str) -> dict[str, str]:
    return {"name": "Anna Berg", "language": "en", "mobile": "", "personnummer": "", **overrides}


def test_profile_saves_normalised_mobile_and_personnummer(client: Client) -> None:
    user = UserFactory.create(language="en", name="Old Name")
    client.force_login(user)
    response = client.post(
        reverse("profile"), _profile_data(mobile="070-123 45 67", personnummer="811218-9876"), follow=True
    )
    assert response.redirect_chain == [(reverse("profile"), 302)]
    assert "Your settings were saved." in _page(response)
    user.refresh_from_db()
    assert user.name == "Anna Berg"
    assert user.mobile == "+46701234567"
    assert user.personnummer == "198112189876"


def test_profile_may_be_saved_again_with_ones_own_personnummer(client: Client) -> None:
    user = UserFactory.create(language="en", personnummer="198112189876")
    client.force_login(user)
    response = client.post(reverse("profile"), _profile_data(personnummer="19811218-9876", name="New Name"))
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.name, user.personnummer) == ("New Name", "198112189876")


def test_profile_with_invalid_personnummer_is_422_and_saves_nothing(client: Client) -> None:
    user = UserFactory.create(language="en", name="Old Name", mobile="+46701111111")
    client.force_login(user)
    response = client.post(
        reverse("profile"),
        _profile_data(name="New Name", mobile="070-123 45 67", personnummer="19811218-9875"),
    )
    assert response.status_code == 422
    assert "The personal identity number is not valid (the check digit is wrong)." in _page(response)
    user.refresh_from_db()
    assert (user.name, user.mobile, user.personnummer) == ("Old Name", "+46701111111", "")


def test_profile_with_invalid_mobile_is_422_and_saves_nothing(client: Client) -> None:
    user = UserFactory.create(language="en", name="Old Name")
    client.force_login(user)
    response = client.post(reverse("profile"), _profile_data(name="New Name", mobile="not a number"))
    assert response.status_code == 422
    assert "Enter a mobile number such as 070-123 45 67" in _page(response)
    user.refresh_from_db()
    assert (user.name, user.mobile) == ("Old Name", "")


def test_profile_with_someone_elses_personnummer_is_422(client: Client) -> None:
    UserFactory.create(personnummer="198112189876")
    user = UserFactory.create(language="en", name="Old Name")
    client.force_login(user)
    response = client.post(reverse("profile"), _profile_data(name="New Name", personnummer="811218-9876"))
    assert response.status_code == 422
    assert "This personal identity number belongs to another user." in _page(response)
    user.refresh_from_db()
    assert (user.name, user.personnummer) == ("Old Name", "")
    assert User.objects.filter(personnummer="198112189876").count() == 1


# --- Organisations -----------------------------------------------------------------------


@pytest.fixture
def partner_and_customer_user(world: World) -> User:
    """Staff at partner A and a user at A's customer: an accountant who is also a customer."""
    person = UserFactory.create(language="en", name="Dual Person")
    PartnerMembershipFactory.create(partner=world.partner, user=person, role=PartnerRole.STAFF)
    CustomerMembershipFactory.create(customer=world.customer, user=person)
    return person


def test_switching_to_ones_own_customer_makes_home_go_to_collaborations(
    world: World, partner_and_customer_user: User, login: Any
) -> None:
    client = login(partner_and_customer_user)
    assert client.get(reverse("home"))["Location"] == reverse(
        "customers:customer_list"
    )  # partners come first

    response = client.post(reverse("switch_organisation"), {"org": f"customer:{world.customer.pk}"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["portal_org"] == f"customer:{world.customer.pk}"
    assert client.get(reverse("home"))["Location"] == reverse("customers:collaboration_list")
    assert client.get(reverse("customers:collaboration_list")).status_code == 200

    client.post(reverse("switch_organisation"), {"org": f"partner:{world.partner.pk}"})
    assert client.get(reverse("home"))["Location"] == reverse("customers:customer_list")


@pytest.mark.parametrize(
    "target",
    [
        lambda w: f"customer:{w.outsider_collaboration.customer_id}",
        lambda w: f"partner:{w.other_partner.pk}",
        lambda w: f"customer:{w.partner.pk}",  # right id, wrong kind
        lambda w: "customer:abc",
        lambda w: "nonsense",
    ],
    ids=["other-customer", "other-partner", "wrong-kind", "not-a-number", "garbage"],
)
def test_switching_to_someone_elses_organisation_is_refused(
    world: World, partner_and_customer_user: User, login: Any, target: Callable[[World], str]
) -> None:
    client = login(partner_and_customer_user)
    client.post(reverse("switch_organisation"), {"org": f"partner:{world.partner.pk}"})
    response = client.post(reverse("switch_organisation"), {"org": target(world)}, follow=True)
    assert "You are not a member of that organisation." in _page(response)
    assert client.session["portal_org"] == f"partner:{world.partner.pk}"
    assert client.get(reverse("home"))["Location"] == reverse("customers:customer_list")


def test_user_without_organisation_is_told_so(client: Client) -> None:
    client.force_login(UserFactory.create(language="en"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "You are not part of any organisation yet" in _page(response)
    assert client.get(reverse("customers:collaboration_list")).status_code == 404
    assert client.get(reverse("customers:customer_list")).status_code == 404


# --- Every page has a title and a language ---------------------------------------------------

PAGES: dict[str, tuple[Callable[[World], User | None], Callable[[World], str], int]] = {
    "login": (lambda w: None, lambda w: reverse("login"), 200),
    "password-reset": (lambda w: None, lambda w: reverse("password_reset"), 200),
    "no-organisation": (lambda w: UserFactory.create(), lambda w: reverse("home"), 200),
    "profile": (lambda w: w.staff, lambda w: reverse("profile"), 200),
    "customer-list": (lambda w: w.admin, lambda w: reverse("customers:customer_list"), 200),
    "customer-detail": (
        lambda w: w.staff,
        lambda w: reverse("customers:customer_detail", args=[w.collaboration.pk]),
        200,
    ),
    "collaboration-list": (lambda w: w.customer_user, lambda w: reverse("customers:collaboration_list"), 200),
    "collaboration-detail": (
        lambda w: w.primary,
        lambda w: reverse("documents:customer_root", args=[w.collaboration.pk]),
        200,
    ),
    "org-users": (lambda w: w.primary, lambda w: reverse("customers:org_users"), 200),
    "not-found": (
        lambda w: w.outsider,
        lambda w: reverse("customers:customer_detail", args=[w.collaboration.pk]),
        404,
    ),
    "forbidden": (
        lambda w: w.customer_user,
        lambda w: reverse(
            "customers:org_user_remove",
            args=[CustomerMembership.objects.get(customer=w.customer, user=w.primary).pk],
        ),
        403,
    ),
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_title_and_a_language(world: World, client: Client, page: str) -> None:
    actor, url, status = PAGES[page]
    user = actor(world)
    if user is not None:
        client.force_login(user)
    response = client.get(url(world))
    assert response.status_code == status
    assert _html_lang(response) == "sv"
    title = re.search(r"<title>(.*?)</title>", _page(response), re.S)
    assert title is not None
    page_name, _sep, site = title.group(1).partition("·")
    assert page_name.strip(), title.group(1)
    assert site.strip()
