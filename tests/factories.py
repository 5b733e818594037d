"""factory_boy factories. Org numbers and personnummer are generated valid (Luhn)."""

from __future__ import annotations

import datetime as dt
import uuid

import factory
from django.utils import timezone
from stdnum import luhn

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from documents.models import Document, Folder
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import User
from signing.models import SigningRequest
from signing.models import Status as SigningStatus

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


def signing_request(
    collaboration: Collaboration,
    actor: User,
    status: str,
    *,
    finished_at: dt.datetime | None = None,
    title: str = "Avtal.pdf",
) -> SigningRequest:
    """A signing request row of `status` (finished `finished_at`, now by default, unless pending
    or a draft) on the collaboration's first document, or on a document row with a version row
    made for it: the lists that count signings never read the file."""
    document = Document.objects.filter(folder__collaboration=collaboration).first()
    if document is None:
        folder = Folder.objects.create(collaboration=collaboration, name="Avtal", created_by=actor)
        document = Document.objects.create(folder=folder, name="Avtal.pdf")
        document.versions.create(
            number=1,
            storage_key=f"k/{uuid.uuid4().hex}",
            size=1,
            content_type="application/pdf",
            sha256="0" * 64,
        )
    finished = status not in (SigningStatus.PENDING, SigningStatus.DRAFT)
    return SigningRequest.objects.create(
        collaboration=collaboration,
        document=document,
        version=document.versions.first(),
        title=title,
        created_by=actor,
        deadline=timezone.now() + dt.timedelta(days=7),
        status=status,
        sent_at=timezone.now() - dt.timedelta(days=2),
        finished_at=(finished_at or timezone.now()) if finished else None,
    )
