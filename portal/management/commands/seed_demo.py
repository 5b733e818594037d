"""Demo data for the embedded default and for trying the portal by hand.

Idempotent: running it again finds what is there and adds only what is missing.
It is the composition root of the demo, so it may use every app's services.

Documents: every customer gets four folders, one of each access kind (internal, read for all
users, read and upload for a selected user, read for the primary contact who manages access),
each with real multi-page PDFs and a PNG chart from portal.demo_files, uploaded through the
documents services as the partner's administrator. Previews are rendered at once, in process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
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
from documents import services as documents_services
from documents import tasks as documents_tasks
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal import demo_files
from portal.models import AuditEvent, User

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

# Each customer's folders, one of each access kind, with the files in them:
# (folder, customer access, audience, who is selected, primary contact manages, [(file, kind)]).
# "selected" is "other" (the customer's non-primary user, else the primary contact) or "primary".
# A file kind ending in ".png" is a chart (portal.demo_files.demo_chart_for), any other a PDF.
FOLDERS: list[tuple[str, str, str, str, bool, list[tuple[str, str]]]] = [
    (
        "Internt",
        CustomerAccess.NONE,
        Audience.ALL,
        "",
        False,
        [
            ("Arbetspapper bokslut 2025.pdf", "working_papers"),
            ("Avstämning skattekonto.pdf", "tax_account"),
            ("Tidsåtgång per månad 2025.png", "hours.png"),
        ],
    ),
    (
        "Årsredovisning",
        CustomerAccess.READ,
        Audience.ALL,
        "",
        False,
        [
            ("Årsredovisning 2025.pdf", "annual_report"),
            ("Revisionsberättelse 2025.pdf", "audit_report"),
            ("Nettoomsättning 2021–2025.png", "key_figures.png"),
        ],
    ),
    (
        "Löneunderlag",
        CustomerAccess.EDIT,
        Audience.SELECTED,
        "other",
        False,
        [
            ("Lönesammanställning januari 2026.pdf", "payroll_jan"),
            ("Lönesammanställning februari 2026.pdf", "payroll_feb"),
            ("Arbetsgivardeklaration februari 2026.pdf", "employer_return"),
            ("Lönekostnader per månad 2025.png", "payroll_costs.png"),
        ],
    ),
    (
        "Avtal",
        CustomerAccess.READ,
        Audience.SELECTED,
        "primary",
        True,
        [
            ("Uppdragsavtal 2026.pdf", "engagement"),
            ("Personuppgiftsbiträdesavtal.pdf", "dpa"),
            ("Arvode per kvartal 2025.png", "fees.png"),
        ],
    ),
]


class Command(BaseCommand):
    help = (
        "Create the demo partners, customers and users (password 'portal-demo'), and each "
        "customer's demo folders and files. Safe to run again: it only adds what is missing."
    )

    def _user(self, email: str, name: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=PASSWORD, name=name, **extra)
            self.stdout.write(f"  user {email}")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Seeding demo data")
        collaborations = self._organisations()
        self._prepare_queue_folders()
        for collaboration in collaborations:
            self._documents(collaboration)
        self.stdout.write(
            "  totals: "
            f"{Folder.objects.count()} folders, {Document.objects.count()} documents, "
            f"{DocumentVersion.objects.count()} versions, "
            f"{DocumentVersion.objects.filter(preview_status='ready').count()} previews, "
            f"{AuditEvent.objects.count()} audit events"
        )
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. Every demo login has the password 'portal-demo'.")
        )

    @transaction.atomic
    def _organisations(self) -> list[Collaboration]:
        collaborations: list[Collaboration] = []
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
            collaborations.append(collaboration)
        return collaborations

    # --- Documents ------------------------------------------------------------------------------

    def _prepare_queue_folders(self) -> None:
        """Uploads enqueue a preview task after commit. With the embedded default's filesystem
        queue its folders must exist first (run_embedded makes them too, but runs after this)."""
        if not str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
            return
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(str(options[key])).mkdir(parents=True, exist_ok=True)

    def _documents(self, collaboration: Collaboration) -> None:
        """Folders of each access kind with real files, made through the documents services as the
        partner's account administrator: versions, hashes, audit events and previews as in use.
        A folder or file that exists (by name) is left as it is."""
        admin = (
            User.objects.filter(
                partner_memberships__partner=collaboration.partner,
                partner_memberships__role=PartnerRole.ADMIN,
            )
            .order_by("pk")
            .first()
        )
        if admin is None:
            return
        memberships = list(
            CustomerMembership.objects.filter(customer=collaboration.customer).order_by(
                "-is_primary_contact", "pk"
            )
        )
        primary = next((m.user_id for m in memberships if m.is_primary_contact), memberships[0].user_id)
        other = next((m.user_id for m in memberships if not m.is_primary_contact), primary)
        company, issuer = collaboration.customer.name, collaboration.partner.name
        for name, customer_access, audience, selected, manages, files in FOLDERS:
            folder = Folder.objects.filter(collaboration=collaboration, parent=None, name=name).first()
            if folder is None:
                folder = documents_services.folder_create(
                    collaboration=collaboration,
                    actor=admin,
                    name=name,
                    customer_access=customer_access,
                    audience=audience,
                    selected_user_ids=[other if selected == "other" else primary] if selected else [],
                    primary_contact_manages=manages,
                )
                self.stdout.write(f"  folder {company} / {name}")
            for filename, kind in files:
                if Document.objects.filter(folder=folder, name=filename, deleted_at__isnull=True).exists():
                    continue
                if kind.endswith(".png"):
                    _title, content = demo_files.demo_chart_for(kind.removesuffix(".png"), company=company)
                else:
                    content = demo_files.demo_pdf(kind, company=company, issuer=issuer)
                version = documents_services.document_upload(
                    folder=folder, actor=admin, name=filename, chunks=[content], by_customer=False
                )
                # Celery need not be running: render the thumbnail now, so the demo shows it at once.
                # (The task queued by the upload finds the preview done and leaves it.)
                documents_tasks.render_preview(version.pk)
                self.stdout.write(f"  file {company} / {name} / {filename}")
