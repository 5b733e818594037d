"""The operators' admin: every page renders, search finds, lists do not grow N+1 queries,
and the admin keeps the domain's rules (normalised identifiers, last partner admin,
one primary contact, staff assignments)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.template.response import TemplateResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import (
    Collaboration,
    CollaborationGroupObjectPermission,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from documents import services as documents_services
from documents.models import Audience, CustomerAccess, FolderUserObjectPermission
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import User

pytestmark = pytest.mark.django_db

VALID_PERSONNUMMER = "19811218-9876"
BAD_LUHN_PERSONNUMMER = "198112189875"

_serial = itertools.count(1)


def orgnr(n: int) -> str:
    """A valid Swedish organisation number (Luhn check digit), NNNNNN-NNNN."""
    base = f"556{n:06d}"
    total = 0
    for i, ch in enumerate(base):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return f"{base[:6]}-{base[6:]}{(10 - total % 10) % 10}"


def make_user(name: str, email: str | None = None) -> User:
    n = next(_serial)
    return User.objects.create_user(email=email or f"user{n}@example.com", name=name)


def make_partner(name: str, *, admin: User | None = None, staff: list[User] | None = None) -> Partner:
    partner = Partner.objects.create(name=name, org_number=orgnr(next(_serial)), plan=Plan.PORTAL)
    PartnerMembership.objects.create(
        partner=partner, user=admin or make_user(f"{name} Admin"), role=PartnerRole.ADMIN
    )
    for user in staff or []:
        PartnerMembership.objects.create(partner=partner, user=user, role=PartnerRole.STAFF)
    return partner


def make_customer(
    name: str, *, partner: Partner | None = None, primary: User | None = None
) -> CustomerAccount:
    customer = CustomerAccount.objects.create(
        name=name, org_number=orgnr(next(_serial)), kind=CustomerKind.DOCUMENTS, created_by_partner=partner
    )
    CustomerMembership.objects.create(
        customer=customer,
        user=primary or make_user(f"{name} Contact"),
        is_primary_contact=True,
        is_admin=True,
    )
    return customer


def work_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="customers", codename="work_with_customer")


@dataclass
class Seed:
    anna: User
    bertil: User
    acme: Partner
    beta: Partner
    kund: CustomerAccount
    other: CustomerAccount
    collaboration: Collaboration
    assignment: CollaborationUserObjectPermission


@pytest.fixture
def seed() -> Seed:
    anna = make_user("Anna Andersson", "anna@example.com")
    anna.personnummer = "198112189876"
    anna.save()
    bertil = make_user("Bertil Berg", "bertil@example.com")
    acme = make_partner("Acme Redovisning", admin=anna, staff=[bertil])
    beta = make_partner("Beta Byrå")
    kund = make_customer("Kundbolaget AB", partner=acme)
    other = make_customer("Annat Företag AB", partner=beta)
    collaboration = Collaboration.objects.create(
        partner=acme, customer=kund, status=CollaborationStatus.ACTIVE
    )
    invited = Collaboration.objects.create(partner=beta, customer=other, status=CollaborationStatus.INVITED)
    assignment = CollaborationUserObjectPermission.objects.create(
        user=bertil, content_object=collaboration, permission=work_permission()
    )
    cecilia = make_user("Cecilia Carlsson", "cecilia@example.com")
    PartnerMembership.objects.create(partner=beta, user=cecilia, role=PartnerRole.STAFF)
    CollaborationUserObjectPermission.objects.create(
        user=cecilia, content_object=invited, permission=work_permission()
    )
    for name, target in (("Revisorer", collaboration), ("Lönekonsulter", invited)):
        CollaborationGroupObjectPermission.objects.create(
            group=Group.objects.create(name=name), content_object=target, permission=work_permission()
        )
    return Seed(anna, bertil, acme, beta, kund, other, collaboration, assignment)


def changelist(model: str) -> str:
    return reverse(f"admin:{model}_changelist")


def post_data(response: Any) -> dict[str, Any]:
    """The POST body that submits an admin change page as it was rendered."""
    assert isinstance(response, TemplateResponse)
    context = response.context_data or {}
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


# --- Every page renders -------------------------------------------------------------------------

MODELS = [
    "portal_user",
    "partners_partner",
    "partners_partnermembership",
    "customers_customeraccount",
    "customers_customermembership",
    "customers_collaboration",
    "customers_collaborationuserobjectpermission",
    "customers_collaborationgroupobjectpermission",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_add_and_change_pages_render(admin_client: Client, seed: Seed, model: str) -> None:
    response = admin_client.get(changelist(model))
    assert response.status_code == 200
    objects = list(response.context["cl"].result_list)
    assert len(objects) >= 2
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 200
    assert admin_client.get(reverse(f"admin:{model}_change", args=[objects[0].pk])).status_code == 200


def test_admin_index_has_the_portal_header(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Partnerportalen – administration" in response.content.decode()


# --- Search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "query", "found", "not_found"),
    [
        ("portal_user", "anna@", "anna@example.com", "bertil@example.com"),
        ("portal_user", "Bertil", "bertil@example.com", "anna@example.com"),
        ("portal_user", "198112189876", "anna@example.com", "bertil@example.com"),
        # Typed with a dash and the century left out, still found in its stored 12-digit form.
        ("portal_user", "811218-9876", "anna@example.com", "bertil@example.com"),
        ("partners_partner", "Acme", "Acme Redovisning", "Beta Byrå"),
        ("partners_partnermembership", "bertil", "Bertil Berg", "Beta Byrå Admin"),
        ("partners_partnermembership", "Beta", "Beta Byrå Admin", "Bertil Berg"),
        ("customers_customeraccount", "Kundbolaget", "Kundbolaget AB", "Annat Företag AB"),
        ("customers_customermembership", "Kundbolaget", "Kundbolaget AB Contact", "Annat Företag AB Contact"),
        ("customers_collaboration", "Annat", "Annat Företag AB", "Kundbolaget AB"),
        ("customers_collaboration", "Acme", "Kundbolaget AB", "Annat Företag AB"),
        ("customers_collaborationuserobjectpermission", "bertil", "Bertil Berg", "Cecilia Carlsson"),
        ("customers_collaborationuserobjectpermission", "Annat", "Cecilia Carlsson", "Bertil Berg"),
        ("customers_collaborationgroupobjectpermission", "Revisorer", "Revisorer", "Lönekonsulter"),
    ],
)
def test_search(admin_client: Client, seed: Seed, model: str, query: str, found: str, not_found: str) -> None:
    response = admin_client.get(changelist(model), {"q": query})
    assert response.status_code == 200
    content = response.content.decode()
    results = response.context["cl"].result_list
    assert len(results) >= 1
    assert found in content
    assert not_found not in content


@pytest.mark.parametrize(
    "model", ["partners_partner", "customers_customeraccount", "customers_collaboration"]
)
def test_search_finds_org_number_typed_without_dash(admin_client: Client, seed: Seed, model: str) -> None:
    target = seed.acme.org_number if model != "customers_customeraccount" else seed.kund.org_number
    response = admin_client.get(changelist(model), {"q": target.replace("-", "")})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_search_with_no_match_is_empty(admin_client: Client, seed: Seed) -> None:
    response = admin_client.get(changelist("partners_partner"), {"q": "zzz-nothing"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


# --- Query counts do not grow with the rows -----------------------------------------------------


def _changelist_queries(client: Client, model: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist(model))
    assert response.status_code == 200
    assert response.context["cl"].result_count == rows
    return len(queries)


def test_partner_changelist_queries_do_not_grow(admin_client: Client) -> None:
    def add_partners(count: int) -> None:
        for _ in range(count):
            partner = make_partner(f"Partner {next(_serial)}", staff=[make_user("Staff")])
            customer = make_customer(f"Kund {next(_serial)}", partner=partner)
            Collaboration.objects.create(partner=partner, customer=customer)

    add_partners(2)
    with_two = _changelist_queries(admin_client, "partners_partner", 2)
    add_partners(8)
    with_ten = _changelist_queries(admin_client, "partners_partner", 10)
    assert with_ten == with_two


def test_customer_changelist_queries_do_not_grow(admin_client: Client) -> None:
    def add_customers(count: int) -> None:
        for _ in range(count):
            partner = Partner.objects.create(name=f"P {next(_serial)}", org_number=orgnr(next(_serial)))
            customer = make_customer(f"Kund {next(_serial)}", partner=partner)
            CustomerMembership.objects.create(customer=customer, user=make_user("Extra"))

    add_customers(2)
    with_two = _changelist_queries(admin_client, "customers_customeraccount", 2)
    add_customers(8)
    with_ten = _changelist_queries(admin_client, "customers_customeraccount", 10)
    assert with_ten == with_two


def test_partner_changelist_shows_member_and_customer_counts(admin_client: Client, seed: Seed) -> None:
    make_customer("Inaktiv AB", partner=seed.acme)
    Collaboration.objects.create(
        partner=seed.acme,
        customer=CustomerAccount.objects.get(name="Inaktiv AB"),
        status=CollaborationStatus.ENDED,
    )
    response = admin_client.get(changelist("partners_partner"))
    acme = next(p for p in response.context["cl"].result_list if p.pk == seed.acme.pk)
    assert acme.member_total == 2
    assert acme.active_customer_total == 1  # the ended collaboration does not count


# --- Users -------------------------------------------------------------------------------------------


def _add_user_data(**overrides: str) -> dict[str, str]:
    data = {
        "email": "New.Person@Example.COM",
        "name": "  New Person ",
        "language": "en",
        "mobile": "070-123 45 67",
        "personnummer": VALID_PERSONNUMMER,
        "usable_password": "true",
        "password1": "a-long-enough-passphrase-42",
        "password2": "a-long-enough-passphrase-42",
    }
    data.update(overrides)
    return data


def test_user_add_normalises_identifiers(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:portal_user_add"), _add_user_data())
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.person@example.com")
    assert user.name == "New Person"
    assert user.personnummer == "198112189876"
    assert user.mobile == "+46701234567"
    assert user.language == "en"
    assert user.check_password("a-long-enough-passphrase-42")


def test_user_add_without_password_gets_an_unusable_one(admin_client: Client) -> None:
    data = _add_user_data(usable_password="false", password1="", password2="", personnummer="", mobile="")
    response = admin_client.post(reverse("admin:portal_user_add"), data)
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert not user.has_usable_password()
    assert user.personnummer == ""


def test_user_add_refuses_a_personnummer_with_a_bad_check_digit(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:portal_user_add"), _add_user_data(personnummer=BAD_LUHN_PERSONNUMMER)
    )
    assert response.status_code == 200
    assert "personnummer" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_user_add_refuses_a_taken_personnummer_and_email_in_other_case(
    admin_client: Client, seed: Seed
) -> None:
    response = admin_client.post(
        reverse("admin:portal_user_add"), _add_user_data(email="ANNA@example.com", personnummer="8112189876")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"email", "personnummer"}
    assert User.objects.filter(email__iexact="anna@example.com").count() == 1


def test_user_change_normalises_and_validates(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:portal_user_change", args=[seed.bertil.pk])
    data = post_data(admin_client.get(url))
    data.update(personnummer="811218-9876", mobile="0046 70 765 43 21")
    response = admin_client.post(url, data)
    assert response.status_code == 200  # Anna already has that personnummer
    assert "personnummer" in response.context["adminform"].form.errors

    data.update(personnummer="")
    response = admin_client.post(url, data)
    assert response.status_code == 302
    seed.bertil.refresh_from_db()
    assert seed.bertil.mobile == "+46707654321"


def test_deleting_the_last_partner_admin_user_is_refused(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:portal_user_delete", args=[seed.anna.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert "Acme Redovisning" in response.content.decode()
    assert User.objects.filter(pk=seed.anna.pk).exists()


def test_deleting_a_primary_contact_user_is_refused(admin_client: Client, seed: Seed) -> None:
    contact = CustomerMembership.objects.get(customer=seed.kund, is_primary_contact=True).user
    response = admin_client.post(reverse("admin:portal_user_delete", args=[contact.pk]), {"post": "yes"})
    assert response.status_code == 200
    assert User.objects.filter(pk=contact.pk).exists()


def test_deleting_a_plain_user_works(admin_client: Client, seed: Seed) -> None:
    response = admin_client.post(reverse("admin:portal_user_delete", args=[seed.bertil.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=seed.bertil.pk).exists()


# --- Partners keep an account administrator -------------------------------------------------------


def test_partner_inline_refuses_removing_the_only_admin(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:partners_partner_change", args=[seed.acme.pk])
    data = post_data(admin_client.get(url))
    admin_row = next(
        key.removesuffix("-role")
        for key, value in data.items()
        if key.endswith("-role") and value == PartnerRole.ADMIN
    )
    data[f"{admin_row}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert PartnerMembership.objects.filter(partner=seed.acme, role=PartnerRole.ADMIN).count() == 1


def test_partner_inline_can_hand_over_admin_and_remove_unassigns(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:partners_partner_change", args=[seed.acme.pk])
    data = post_data(admin_client.get(url))
    rows = {value: key.removesuffix("-role") for key, value in data.items() if key.endswith("-role")}
    # Bertil becomes admin and Anna leaves, in one save.
    data[f"{rows[PartnerRole.STAFF]}-role"] = PartnerRole.ADMIN
    data[f"{rows[PartnerRole.ADMIN]}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    memberships = PartnerMembership.objects.filter(partner=seed.acme)
    assert [(m.user_id, m.role) for m in memberships] == [(seed.bertil.pk, PartnerRole.ADMIN)]


def test_partner_add_requires_an_admin_and_normalises_org_number(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:partners_partner_add")
    number = orgnr(999)
    data = {
        "name": " Ny Byrå ",
        "org_number": number.replace("-", ""),
        "plan": Plan.BYRA,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert not Partner.objects.filter(name="Ny Byrå").exists()

    data.update(
        {
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-user": str(seed.bertil.pk),
            "memberships-0-role": PartnerRole.ADMIN,
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302
    partner = Partner.objects.get(name="Ny Byrå")
    assert partner.org_number == number
    assert partner.memberships.get().user == seed.bertil


def test_membership_delete_refuses_the_last_admin(admin_client: Client, seed: Seed) -> None:
    membership = PartnerMembership.objects.get(partner=seed.acme, user=seed.anna)
    response = admin_client.post(
        reverse("admin:partners_partnermembership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 200
    assert PartnerMembership.objects.filter(pk=membership.pk).exists()


def test_membership_delete_removes_staff_assignments(admin_client: Client, seed: Seed) -> None:
    membership = PartnerMembership.objects.get(partner=seed.acme, user=seed.bertil)
    response = admin_client.post(
        reverse("admin:partners_partnermembership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not PartnerMembership.objects.filter(pk=membership.pk).exists()
    assert not CollaborationUserObjectPermission.objects.filter(pk=seed.assignment.pk).exists()


def test_membership_bulk_delete_refuses_leaving_no_admin(admin_client: Client, seed: Seed) -> None:
    ids = list(PartnerMembership.objects.filter(partner=seed.acme).values_list("pk", flat=True))
    response = admin_client.post(
        changelist("partners_partnermembership"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 200
    assert PartnerMembership.objects.filter(partner=seed.acme).count() == 2


def test_membership_role_change_refuses_demoting_the_last_admin(admin_client: Client, seed: Seed) -> None:
    membership = PartnerMembership.objects.get(partner=seed.acme, user=seed.anna)
    url = reverse("admin:partners_partnermembership_change", args=[membership.pk])
    response = admin_client.post(url, {"role": PartnerRole.STAFF})
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors

    other = PartnerMembership.objects.get(partner=seed.acme, user=seed.bertil)
    url = reverse("admin:partners_partnermembership_change", args=[other.pk])
    assert admin_client.post(url, {"role": PartnerRole.ADMIN}).status_code == 302
    url = reverse("admin:partners_partnermembership_change", args=[membership.pk])
    assert admin_client.post(url, {"role": PartnerRole.STAFF}).status_code == 302
    membership.refresh_from_db()
    assert membership.role == PartnerRole.STAFF


# --- Customers keep one primary contact ---------------------------------------------------------


def test_customer_inline_requires_exactly_one_primary_contact(admin_client: Client, seed: Seed) -> None:
    extra = CustomerMembership.objects.create(customer=seed.kund, user=seed.bertil)
    url = reverse("admin:customers_customeraccount_change", args=[seed.kund.pk])
    data = post_data(admin_client.get(url))
    rows = {int(value): key.removesuffix("-id") for key, value in data.items() if key.endswith("-id")}
    data[f"{rows[extra.pk]}-is_primary_contact"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 200  # two primary contacts

    # Handing it over within one save works, and the new primary contact becomes an admin.
    old = CustomerMembership.objects.get(customer=seed.kund, is_primary_contact=True)
    del data[f"{rows[old.pk]}-is_primary_contact"]
    response = admin_client.post(url, data)
    assert response.status_code == 302
    extra.refresh_from_db()
    assert extra.is_primary_contact
    assert extra.is_admin
    assert CustomerMembership.objects.filter(customer=seed.kund, is_primary_contact=True).count() == 1


def test_make_primary_contact_action(admin_client: Client, seed: Seed) -> None:
    extra = CustomerMembership.objects.create(customer=seed.kund, user=seed.bertil)
    response = admin_client.post(
        changelist("customers_customermembership"),
        {"action": "make_primary_contact", "_selected_action": [extra.pk]},
    )
    assert response.status_code == 302
    extra.refresh_from_db()
    assert extra.is_primary_contact
    assert extra.is_admin
    assert CustomerMembership.objects.filter(customer=seed.kund, is_primary_contact=True).count() == 1


def test_primary_contact_membership_cannot_be_deleted(admin_client: Client, seed: Seed) -> None:
    primary = CustomerMembership.objects.get(customer=seed.kund, is_primary_contact=True)
    url = reverse("admin:customers_customermembership_delete", args=[primary.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert CustomerMembership.objects.filter(pk=primary.pk).exists()


# --- Collaborations and staff assignments ----------------------------------------------------------


def test_end_collaboration_action_drops_assignments(admin_client: Client, seed: Seed) -> None:
    response = admin_client.post(
        changelist("customers_collaboration"),
        {"action": "end_collaborations", "_selected_action": [seed.collaboration.pk]},
    )
    assert response.status_code == 302
    seed.collaboration.refresh_from_db()
    assert seed.collaboration.status == CollaborationStatus.ENDED
    assert seed.collaboration.ended_at is not None
    assert not CollaborationUserObjectPermission.objects.filter(content_object=seed.collaboration).exists()


def test_collaboration_add_refuses_a_second_open_one(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:customers_collaboration_add")
    data = {
        "partner": seed.acme.pk,
        "customer": seed.kund.pk,
        "collaborationuserobjectpermission_set-TOTAL_FORMS": "0",
        "collaborationuserobjectpermission_set-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert Collaboration.objects.filter(partner=seed.acme, customer=seed.kund).count() == 1

    data["customer"] = seed.other.pk
    assert admin_client.post(url, data).status_code == 302
    created = Collaboration.objects.get(partner=seed.acme, customer=seed.other)
    assert created.status == CollaborationStatus.ACTIVE


def test_collaboration_token_hash_is_read_only(admin_client: Client, seed: Seed) -> None:
    response = admin_client.get(reverse("admin:customers_collaboration_change", args=[seed.collaboration.pk]))
    assert "invitation_token_hash" not in response.context["adminform"].form.fields


def test_staff_assignment_only_for_the_partners_staff(admin_client: Client, seed: Seed) -> None:
    url = reverse("admin:customers_collaborationuserobjectpermission_add")
    outsider = make_user("Utomstående")
    data = {"content_object": seed.collaboration.pk, "user": outsider.pk, "permission": work_permission().pk}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors

    newcomer = make_user("Nyanställd")
    PartnerMembership.objects.create(partner=seed.acme, user=newcomer, role=PartnerRole.STAFF)
    data["user"] = newcomer.pk
    assert admin_client.post(url, data).status_code == 302
    assert CollaborationUserObjectPermission.objects.filter(
        user=newcomer, content_object=seed.collaboration
    ).exists()


def test_removing_a_user_in_the_customer_inline_removes_their_folder_grants(
    admin_client: Client, seed: Seed
) -> None:
    """The inline's delete box is the operator's way to remove a user: it must take the user's
    own folder grants with it, as the portal's removal does, or re-adding them brings them back."""
    extra = CustomerMembership.objects.create(customer=seed.kund, user=seed.bertil)
    folder = documents_services.folder_create(
        collaboration=seed.collaboration,
        actor=seed.anna,
        name="Löner",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[seed.bertil.pk],
    )
    assert FolderUserObjectPermission.objects.filter(content_object=folder, user=seed.bertil).exists()
    url = reverse("admin:customers_customeraccount_change", args=[seed.kund.pk])
    data = post_data(admin_client.get(url))
    rows = {int(value): key.removesuffix("-id") for key, value in data.items() if key.endswith("-id")}
    data[f"{rows[extra.pk]}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert not CustomerMembership.objects.filter(pk=extra.pk).exists()
    assert not FolderUserObjectPermission.objects.filter(content_object=folder, user=seed.bertil).exists()
