"""factory_boy factories. Org numbers and personnummer are generated valid (Luhn)."""

from __future__ import annotations

import factory
from stdnum import luhn

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import User

PASSWORD = "correct-horse-battery"


def valid_orgnr(n: int) -> str:
    base = f"55{n % 10_000_000:07d}"
    digits = base + luhn.calc_check_digit(base)
    return f"{digits[:6]}-{digits[6:]}"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name", locale="sv_SE")
    language = "sv"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: object = None) -> None:
        if create:
            instance.save(update_fields=["password"])


class PartnerFactory(factory.django.DjangoModelFactory[Partner]):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Byrå {n} AB")
    org_number = factory.Sequence(lambda n: valid_orgnr(1_000_000 + n))
    plan = Plan.BYRA


class PartnerMembershipFactory(factory.django.DjangoModelFactory[PartnerMembership]):
    class Meta:
        model = PartnerMembership

    partner = factory.SubFactory(PartnerFactory)
    user = factory.SubFactory(UserFactory)
    role = PartnerRole.STAFF


class CustomerAccountFactory(factory.django.DjangoModelFactory[CustomerAccount]):
    class Meta:
        model = CustomerAccount

    name = factory.Sequence(lambda n: f"Kund {n} AB")
    org_number = factory.Sequence(lambda n: valid_orgnr(2_000_000 + n))
    kind = CustomerKind.DOCUMENTS


class CustomerMembershipFactory(factory.django.DjangoModelFactory[CustomerMembership]):
    class Meta:
        model = CustomerMembership

    customer = factory.SubFactory(CustomerAccountFactory)
    user = factory.SubFactory(UserFactory)
    is_primary_contact = False
    is_admin = False


class CollaborationFactory(factory.django.DjangoModelFactory[Collaboration]):
    class Meta:
        model = Collaboration

    partner = factory.SubFactory(PartnerFactory)
    # A Documents customer is made by the partner it collaborates with.
    customer = factory.SubFactory(
        CustomerAccountFactory, created_by_partner=factory.SelfAttribute("..partner")
    )
    status = CollaborationStatus.ACTIVE
