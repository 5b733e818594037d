"""Two-factor authentication: enrolment, the code step of logging in, recovery codes, a firm's
requirement, Django admin's requirement and turning it off."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.models import Partner
from portal import twofactor
from portal.models import AuditEvent, User
from tests.conftest import World
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def totp_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's app shows now (or `steps_ahead` periods later)."""
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + steps_ahead * device.step
    return str(generator.token()).zfill(device.digits)


def enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor on for `user` as the enrolment page does; the device and recovery codes."""
    device = twofactor.pending_device(user)
    codes = twofactor.two_factor_enable(user=user, device=device, code=totp_code(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def wait_out_throttle(user: User) -> None:
    """As if the person took longer than django-otp's pause after a wrong code to type the next."""
    past = timezone.now() - timedelta(minutes=5)
    TOTPDevice.objects.filter(user=user).update(throttling_failure_timestamp=past)
    StaticDevice.objects.filter(user=user).update(throttling_failure_timestamp=past)


def english(user: User) -> User:
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def password_login(client: Client, user: User) -> Any:
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def full_login(client: Client, user: User, device: TOTPDevice) -> None:
    password_login(client, user)
    response = client.post(reverse("twofactor_verify"), {"code": totp_code(device, steps_ahead=1)})
    assert response.status_code == 302, response.content.decode()[:2000]


# --- Enrolment ----------------------------------------------------------------------------


def test_enrol_page_shows_a_qr_code_and_the_secret_of_an_unconfirmed_device(login: Any) -> None:
    user = english(UserFactory.create())
    response = login(user).get(reverse("twofactor_enrol"))
    assert response.status_code == 200
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    assert "<svg" in page and 'class="segno"' in page
    assert twofactor.manual_secret(device) in page
    assert "http" not in page.split('<div class="qr">')[1].split("</div>")[0]  # nothing fetched
    # A reload shows the same device, so an app that already scanned it still matches.
    login(user).get(reverse("twofactor_enrol"))
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_a_wrong_code_at_enrolment_confirms_nothing(login: Any) -> None:
    user = english(UserFactory.create())
    client = login(user)
    client.get(reverse("twofactor_enrol"))
    device = TOTPDevice.objects.get(user=user)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    response = client.post(reverse("twofactor_enrol"), {"code": wrong})
    assert response.status_code == 422
    assert "The code is wrong." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert twofactor.NEW_CODES_SESSION_KEY not in client.session


def test_enrolment_turns_two_factor_on_and_shows_ten_recovery_codes_once(login: Any) -> None:
    user = english(UserFactory.create())
    client = login(user)
    client.get(reverse("twofactor_enrol"))
    device = TOTPDevice.objects.get(user=user)
    response = client.post(reverse("twofactor_enrol"), {"code": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor_recovery_codes"))
    assert TOTPDevice.objects.get(pk=device.pk).confirmed is True
    stored = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(stored) == 10
    page = client.get(response["Location"]).content.decode()
    assert all(f"<code>{code}</code>" in page for code in stored)
    # Shown once: a second visit shows none of them.
    again = client.get(reverse("twofactor_recovery_codes"))
    assert again.status_code == 302
    assert again["Location"] == reverse("profile")
    # The session that enrolled counts as verified: My account opens and says it is on.
    profile = client.get(reverse("profile"))
    assert profile.status_code == 200
    assert "10 recovery codes left." in profile.content.decode()


def test_enrol_page_sends_a_user_who_already_has_two_factor_to_my_account(client: Client) -> None:
    user = english(UserFactory.create())
    device, _codes = enrolled(user)
    full_login(client, user, device)
    response = client.get(reverse("twofactor_enrol"))
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user).count() == 1


# --- Logging in ---------------------------------------------------------------------------


def test_a_user_without_two_factor_logs_in_with_the_password_alone(client: Client) -> None:
    user = UserFactory.create()
    password_login(client, user)
    response = client.get(reverse("profile"))
    assert response.status_code == 200


def test_after_the_password_every_page_waits_for_the_code(client: Client) -> None:
    user = english(UserFactory.create())
    device, _codes = enrolled(user)
    password_login(client, user)
    for name in ("home", "profile", "partners:settings", "twofactor_disable"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("twofactor_verify")), name
    response = client.get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("twofactor_verify"))
    page = client.get(reverse("twofactor_verify"))
    assert page.status_code == 200
    assert "Type the code from your authenticator app" in page.content.decode()

    wrong = client.post(reverse("twofactor_verify"), {"code": "12345"})
    assert wrong.status_code == 422
    assert "The code is wrong or has already been used." in wrong.content.decode()
    assert client.get(reverse("profile")).status_code == 302

    wait_out_throttle(user)
    right = client.post(
        reverse("twofactor_verify"), {"code": totp_code(device, steps_ahead=1), "next": reverse("profile")}
    )
    assert right.status_code == 302
    assert right["Location"] == reverse("profile")
    assert client.get(reverse("profile")).status_code == 200


def test_the_code_step_does_not_follow_a_next_to_another_site(client: Client) -> None:
    user = UserFactory.create()
    device, _codes = enrolled(user)
    password_login(client, user)
    response = client.post(
        reverse("twofactor_verify"),
        {"code": totp_code(device, steps_ahead=1), "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_recovery_code_logs_in_once(client: Client) -> None:
    user = english(UserFactory.create())
    _device, codes = enrolled(user)
    password_login(client, user)
    response = client.post(reverse("twofactor_verify"), {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9

    client.post(reverse("logout"))
    password_login(client, user)
    again = client.post(reverse("twofactor_verify"), {"code": codes[0]})
    assert again.status_code == 422
    assert client.get(reverse("profile")).status_code == 302


def test_wrong_codes_make_the_next_try_wait(client: Client) -> None:
    user = english(UserFactory.create())
    device, _codes = enrolled(user)
    password_login(client, user)
    client.post(reverse("twofactor_verify"), {"code": "000001"})
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    response = client.post(reverse("twofactor_verify"), {"code": totp_code(device, steps_ahead=1)})
    assert response.status_code == 422
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("profile")).status_code == 302


def test_logging_out_stays_possible_at_the_code_step(client: Client) -> None:
    user = UserFactory.create()
    enrolled(user)
    password_login(client, user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- A firm's requirement ------------------------------------------------------------------


def _require(partner: Partner) -> None:
    partner.require_two_factor = True
    partner.save(update_fields=["require_two_factor"])


def test_staff_of_a_firm_that_requires_it_are_walked_to_enrolment(world: World, login: Any) -> None:
    _require(world.partner)
    english(world.staff)
    client = login(world.staff)
    for name in ("home", "customers:customer_list", "profile", "partners:settings"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("twofactor_enrol")), name
    page = client.get(reverse("twofactor_enrol"))
    assert page.status_code == 200
    assert "Alfa Byrå AB requires two-factor authentication. Set it up to continue." in page.content.decode()
    # Once enrolled, the pages open.
    device = TOTPDevice.objects.get(user=world.staff)
    client.post(reverse("twofactor_enrol"), {"code": totp_code(device)})
    assert client.get(reverse("customers:customer_list")).status_code == 200


def test_a_firms_requirement_leaves_other_firms_and_customers_alone(world: World, login: Any) -> None:
    _require(world.partner)
    assert login(world.outsider).get(reverse("customers:customer_list")).status_code == 200
    assert login(world.customer_user).get(reverse("customers:collaboration_list")).status_code == 200


def test_without_a_requirement_staff_are_not_asked(world: World, login: Any) -> None:
    assert login(world.staff).get(reverse("customers:customer_list")).status_code == 200


def test_the_account_administrator_sets_the_requirement(world: World, login: Any) -> None:
    client = login(world.admin)
    page = client.get(reverse("partners:settings"))
    assert 'name="require_two_factor"' in page.content.decode()
    response = client.post(reverse("partners:two_factor_requirement"), {"require_two_factor": "on"})
    assert response.status_code == 302
    world.partner.refresh_from_db()
    assert world.partner.require_two_factor is True
    world.other_partner.refresh_from_db()
    assert world.other_partner.require_two_factor is False
    # The admin has no two-factor yet, so is walked to enrolment too, and can turn it back off after.
    assert client.get(reverse("partners:settings"))["Location"].startswith(reverse("twofactor_enrol"))


def test_staff_may_not_change_the_requirement(world: World, login: Any) -> None:
    client = login(world.staff)
    assert 'name="require_two_factor"' not in client.get(reverse("partners:settings")).content.decode()
    response = client.post(reverse("partners:two_factor_requirement"), {"require_two_factor": "on"})
    assert response.status_code == 403
    world.partner.refresh_from_db()
    assert world.partner.require_two_factor is False


def test_another_firms_admin_changes_only_their_own_firm(world: World, login: Any) -> None:
    login(world.outsider).post(reverse("partners:two_factor_requirement"), {"require_two_factor": "on"})
    world.partner.refresh_from_db()
    world.other_partner.refresh_from_db()
    assert world.partner.require_two_factor is False
    assert world.other_partner.require_two_factor is True


def test_a_customer_user_gets_404_for_the_requirement(world: World, login: Any) -> None:
    response = login(world.primary).post(
        reverse("partners:two_factor_requirement"), {"require_two_factor": "on"}
    )
    assert response.status_code == 404
    assert not Partner.objects.filter(require_two_factor=True).exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client: Client) -> None:
    response = client.post(reverse("partners:two_factor_requirement"), {"require_two_factor": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Partner.objects.filter(require_two_factor=True).exists()


# --- Django admin --------------------------------------------------------------------------


def test_admin_requires_two_factor_in_production(login: Any, settings: Any) -> None:
    settings.TWO_FACTOR_FOR_ADMIN = True
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    response = login(staff).get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor_enrol"))
    # The portal's own pages stay open to a staff user with no firm requiring it.
    assert login(staff).get(reverse("profile")).status_code == 200


def test_admin_opens_for_staff_verified_with_two_factor(client: Client, settings: Any) -> None:
    settings.TWO_FACTOR_FOR_ADMIN = True
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    device, _codes = enrolled(staff)
    full_login(client, staff, device)
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_asks_no_second_factor_in_development(login: Any, settings: Any) -> None:
    settings.TWO_FACTOR_FOR_ADMIN = False
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    assert login(staff).get(reverse("admin:index")).status_code == 200


def test_production_settings_require_two_factor_for_admin() -> None:
    """TWO_FACTOR_FOR_ADMIN follows PORTAL_DEBUG: on whenever the portal runs as production."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print(s.DEBUG, s.TWO_FACTOR_FOR_ADMIN)"],
        env={"PORTAL_DEBUG": "false", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "True"]


# --- Turning it off -------------------------------------------------------------------------


def test_turning_off_needs_the_password_and_a_code(client: Client) -> None:
    user = english(UserFactory.create())
    device, codes = enrolled(user)
    full_login(client, user, device)
    wrong_password = client.post(
        reverse("twofactor_disable"), {"password": "nope-nope-nope", "code": codes[1]}
    )
    assert wrong_password.status_code == 422
    assert "The password is wrong." in wrong_password.content.decode()
    wrong_code = client.post(reverse("twofactor_disable"), {"password": PASSWORD, "code": "999999"})
    assert wrong_code.status_code == 422
    assert twofactor.has_two_factor(user)
    wait_out_throttle(user)
    response = client.post(reverse("twofactor_disable"), {"password": PASSWORD, "code": codes[2]})
    assert response.status_code == 302
    assert not twofactor.has_two_factor(user)
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert client.get(reverse("profile")).status_code == 200


def test_logging_in_through_django_admins_form_also_asks_for_the_code(client: Client) -> None:
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    enrolled(staff)
    response = client.post(reverse("admin:login"), {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("twofactor_verify"))


# --- Confirming it is you before security changes ---------------------------------------------


def expire_reauth(client: Client) -> None:
    session = client.session
    session[twofactor.REAUTH_SESSION_KEY] = int(time.time()) - twofactor.REAUTH_SECONDS - 1
    session.save()


def test_a_fresh_login_changes_the_password_without_confirming_again(client: Client) -> None:
    user = UserFactory.create()
    password_login(client, user)
    assert client.get(reverse("password_change")).status_code == 200


def test_changing_the_password_later_asks_for_the_password_first(client: Client) -> None:
    user = english(UserFactory.create())
    password_login(client, user)
    expire_reauth(client)
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reauthenticate')}?next=%2Faccounts%2Fpassword%2Fchange%2F"
    page = client.get(response["Location"])
    assert 'name="code"' not in page.content.decode()  # no two-factor: the password alone
    wrong = client.post(response["Location"], {"password": "not-my-password"})
    assert wrong.status_code == 422
    assert "The password is wrong." in wrong.content.decode()
    assert client.get(reverse("password_change")).status_code == 302
    right = client.post(reverse("reauthenticate"), {"password": PASSWORD, "next": reverse("password_change")})
    assert right["Location"] == reverse("password_change")
    assert client.get(reverse("password_change")).status_code == 200


def test_with_two_factor_confirming_needs_the_code_too(client: Client) -> None:
    user = english(UserFactory.create())
    device, codes = enrolled(user)
    full_login(client, user, device)
    expire_reauth(client)
    assert client.get(reverse("password_change")).status_code == 302
    password_only = client.post(reverse("reauthenticate"), {"password": PASSWORD})
    assert password_only.status_code == 422
    assert client.get(reverse("password_change")).status_code == 302
    wait_out_throttle(user)
    response = client.post(reverse("reauthenticate"), {"password": PASSWORD, "code": codes[3]})
    assert response.status_code == 302
    assert client.get(reverse("password_change")).status_code == 200


def test_changing_a_firms_administrators_later_asks_to_confirm_and_changes_nothing(
    world: World, login: Any
) -> None:
    from partners.models import PartnerMembership, PartnerRole

    client = login(world.admin)
    expire_reauth(client)
    membership = PartnerMembership.objects.get(partner=world.partner, user=world.staff)
    staff_list = reverse("partners:staff_list")
    response = client.post(
        reverse("partners:staff_change_role", args=[membership.pk]),
        {"role": PartnerRole.ADMIN},
        HTTP_REFERER=f"http://testserver{staff_list}",
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reauthenticate')}?next=%2Fsettings%2Fstaff%2F"
    membership.refresh_from_db()
    assert membership.role == PartnerRole.STAFF
    removal = client.post(reverse("partners:staff_remove", args=[membership.pk]))
    assert removal["Location"].startswith(reverse("reauthenticate"))
    assert PartnerMembership.objects.filter(pk=membership.pk).exists()
    # Confirmed, the same change goes through.
    client.post(reverse("reauthenticate"), {"password": PASSWORD})
    client.post(reverse("partners:staff_change_role", args=[membership.pk]), {"role": PartnerRole.ADMIN})
    membership.refresh_from_db()
    assert membership.role == PartnerRole.ADMIN


def test_enrolling_later_asks_to_confirm_even_when_the_firm_requires_it(world: World, login: Any) -> None:
    _require(world.partner)
    client = login(world.staff)
    expire_reauth(client)
    response = client.get(reverse("customers:customer_list"))
    assert response["Location"].startswith(reverse("twofactor_enrol"))
    response = client.get(response["Location"])
    assert response["Location"].startswith(reverse("reauthenticate"))
    assert client.get(response["Location"]).status_code == 200  # not sent round in a loop
    done = client.post(response["Location"], {"password": PASSWORD})
    assert done["Location"].startswith(reverse("twofactor_enrol"))
    assert client.get(done["Location"]).status_code == 200


# --- New recovery codes, with two-factor left on -----------------------------------------------


def _stored_codes(user: User) -> set[str]:
    return set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


def test_new_recovery_codes_later_ask_to_confirm_and_change_nothing(client: Client) -> None:
    user = english(UserFactory.create())
    device, codes = enrolled(user)
    full_login(client, user, device)
    expire_reauth(client)
    profile = reverse("profile")
    response = client.post(
        reverse("twofactor_recovery_codes_new"), HTTP_REFERER=f"http://testserver{profile}"
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reauthenticate')}?next=%2Faccount%2F"
    assert _stored_codes(user) == set(codes)
    assert twofactor.NEW_CODES_SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(action="twofactor.recovery_codes_replaced").exists()


def test_new_recovery_codes_are_not_made_by_a_get(client: Client) -> None:
    """A link or an image elsewhere cannot replace a person's codes: only a POST (with CSRF) does."""
    user = english(UserFactory.create())
    device, codes = enrolled(user)
    full_login(client, user, device)
    assert client.get(reverse("twofactor_recovery_codes_new")).status_code == 405
    assert _stored_codes(user) == set(codes)


def test_new_recovery_codes_replace_the_old_ones_which_stop_working(client: Client) -> None:
    user = english(UserFactory.create())
    device, old = enrolled(user)
    full_login(client, user, device)
    button = f'action="{reverse("twofactor_recovery_codes_new")}"'
    assert button in client.get(reverse("profile")).content.decode()
    response = client.post(reverse("twofactor_recovery_codes_new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor_recovery_codes"))
    new = _stored_codes(user)
    assert len(new) == twofactor.RECOVERY_CODE_COUNT and not new & set(old)
    # Shown once, as at enrolment.
    page = client.get(response["Location"]).content.decode()
    assert all(f"<code>{code}</code>" in page for code in new)
    assert client.get(reverse("twofactor_recovery_codes"))["Location"] == reverse("profile")
    assert TOTPDevice.objects.get(pk=device.pk).confirmed  # the app itself stays
    event = AuditEvent.objects.get(action="twofactor.recovery_codes_replaced")
    assert event.actor == user and event.object_id == user.pk
    assert not any(code in str(event.details) for code in new)
    # An old code no longer logs in; a new one does, once.
    client.post(reverse("logout"))
    password_login(client, user)
    refused = client.post(reverse("twofactor_verify"), {"code": old[0]})
    assert refused.status_code == 422
    wait_out_throttle(user)
    accepted = client.post(reverse("twofactor_verify"), {"code": sorted(new)[0]})
    assert accepted.status_code == 302
    assert client.get(reverse("profile")).status_code == 200


def test_another_user_cannot_replace_someone_elses_codes(client: Client) -> None:
    victim = UserFactory.create()
    _victim_device, victim_codes = enrolled(victim)
    other = english(UserFactory.create())
    other_device, other_codes = enrolled(other)
    full_login(client, other, other_device)
    # Naming the victim changes nothing: the page acts on the logged-in person only.
    response = client.post(reverse("twofactor_recovery_codes_new"), {"user": victim.pk, "user_id": victim.pk})
    assert response.status_code == 302
    assert _stored_codes(victim) == set(victim_codes)
    assert not _stored_codes(other) & set(other_codes)
    # Someone without two-factor gets no codes at all, and the victim's stay.
    plain = english(UserFactory.create())
    client.post(reverse("logout"))
    password_login(client, plain)
    response = client.post(reverse("twofactor_recovery_codes_new"), {"user": victim.pk})
    assert response["Location"] == reverse("profile")
    assert not StaticDevice.objects.filter(user=plain).exists()
    assert _stored_codes(victim) == set(victim_codes)
    # An anonymous visitor is sent to log in.
    client.post(reverse("logout"))
    response = client.post(reverse("twofactor_recovery_codes_new"))
    assert response["Location"].startswith(reverse("login"))
    assert _stored_codes(victim) == set(victim_codes)
