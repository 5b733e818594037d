"""Demo data for the embedded default and for trying the portal by hand.

Idempotent: running it again finds what is there and adds only what is missing.
It is the composition root of the demo, so it may use every app's services.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from customers.services import WORK_WITH_CUSTOMER
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import User

PASSWORD = "portal-demo"

PARTNERS = [
    # name, org number, plan, [(email, name, role)]
    (
        "Demo Byrå AB",
        "559900-1004",
        Plan.BYRA,
        [
            ("anna@byra.example", "Anna Andersson", PartnerRole.ADMIN),
            ("erik@byra.example", "Erik Eriksson", PartnerRole.STAFF),
        ],
    ),
    (
        "Annan Byrå AB",
        "559900-4008",
        Plan.PORTAL,
        [
            ("per@annan.example", "Per Persson", PartnerRole.ADMIN),
        ],
    ),
]

CUSTOMERS = [
    # partner, customer name, org number, [(email, name, is_primary)], assigned staff
    (
        "Demo Byrå AB",
        "Kund AB",
        "559900-2002",
        [
            ("karin@kund.example", "Karin Karlsson", True),
            ("olle@kund.example", "Olle Olsson", False),
        ],
        ["erik@byra.example"],
    ),
    (
        "Demo Byrå AB",
        "Bygg AB",
        "559900-3000",
        [
            ("bo@bygg.example", "Bo Bengtsson", True),
        ],
        [],
    ),
    (
        "Annan Byrå AB",
        "Annans Kund AB",
        "559900-5005",
        [
            ("lisa@annanskund.example", "Lisa Lind", True),
        ],
        [],
    ),
]

SITE_ADMIN = ("admin@portal.example", "Site Admin")


class Command(BaseCommand):
    help = (
        "Create the demo partners, customers and users (password 'portal-demo'). "
        "Safe to run again: it only adds what is missing."
    )

    def _user(self, email: str, name: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=PASSWORD, name=name, **extra)
            self.stdout.write(f"  user {email}")
        return user

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Seeding demo data")
        admin = self._user(*SITE_ADMIN, is_staff=True, is_superuser=True)
        if not admin.is_superuser:
            admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["is_staff", "is_superuser"])
        partners: dict[str, Partner] = {}
        for name, org_number, plan, members in PARTNERS:
            partner, _ = Partner.objects.get_or_create(
                org_number=org_number, defaults={"name": name, "plan": plan}
            )
            partners[name] = partner
            for email, person, role in members:
                user = self._user(email, person)
                PartnerMembership.objects.get_or_create(partner=partner, user=user, defaults={"role": role})
        for partner_name, name, org_number, people, assigned in CUSTOMERS:
            partner = partners[partner_name]
            customer, _ = CustomerAccount.objects.get_or_create(
                org_number=org_number,
                created_by_partner=partner,
                defaults={"name": name, "kind": CustomerKind.DOCUMENTS},
            )
            for email, person, is_primary in people:
                user = self._user(email, person)
                CustomerMembership.objects.get_or_create(
                    customer=customer,
                    user=user,
                    defaults={"is_primary_contact": is_primary, "is_admin": is_primary},
                )
            collaboration, _ = Collaboration.objects.get_or_create(
                partner=partner, customer=customer, status=CollaborationStatus.ACTIVE
            )
            for email in assigned:
                assign_perm(WORK_WITH_CUSTOMER, User.objects.get(email=email), collaboration)
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. Every demo login has the password 'portal-demo'.")
        )
