"""Demo data for the embedded default and for trying the portal by hand.

Idempotent: running it again finds what is there and adds only what is missing.
It is the composition root of the demo, so it may use every app's services.

Documents: every customer gets four folders, one of each access kind (internal, read for all
users, read and upload for a selected user, read for the primary contact who manages access),
each with real multi-page PDFs and a PNG chart from demo.files, uploaded through the
documents services as the partner's administrator. Previews are rendered at once, in process.

Billing: every partner has its welcome grant; Demo Byrå AB also has a signature ledger over the
last two months (package purchases as its administrator, signings charged, one adjustment by the
site admin), a daily usage curve of the last five weeks rising to what it stores now, this and
last month's storage peaks and last month's statement. The usage counters are reconciled against
the stored files before the curve is drawn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from guardian.shortcuts import assign_perm

from billing import plans
from billing import services as billing_services
from billing import usage as billing_usage
from billing.models import BalanceEntry, EntryKind, InvoiceLine, Statement, StoragePeak, UsageSnapshot
from customers.models import (
    Collaboration,
    CollaborationStatus,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from customers.services import WORK_WITH_CUSTOMER
from demo import files as demo_files
from documents import services as documents_services
from documents import tasks as documents_tasks
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import AuditEvent, User
from portal.units import format_sek
from signing import devkeys
from signing import services as signing_services
from signing import tasks as signing_tasks
from signing.methods import method_for
from signing.models import Method, Party, SigningRequest

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

# The BankID simulator's test identities, so these demo users can log in with BankID.
DEMO_PERSONNUMMER = {"karin@kund.example": "198503122387", "bo@bygg.example": "197211056572"}

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

# Demo Byrå AB's signature ledger after its welcome grant, oldest first: (month, day, step, what).
# Month -1 is last month (day of the month), 0 this month (the n-th event of the month so far).
# A purchase buys a package as the partner's administrator; a charge is one signing sent, with a
# reference "demo-signing:<n>"; an adjustment is made by the site admin. The first charge's
# reference marks the history as made.
DEMO_LEDGER_PARTNER = "559900-1004"  # Demo Byrå AB
DEMO_LEDGER: list[tuple[int, int, str, int | str]] = [
    (-1, 2, "purchase", 10),
    (-1, 5, "charge", "Uppdragsavtal 2026.pdf (Kund AB)"),
    (-1, 9, "charge", "Personuppgiftsbiträdesavtal.pdf (Kund AB)"),
    (-1, 14, "purchase", 50),
    (-1, 18, "charge", "Årsredovisning 2025.pdf (Bygg AB)"),
    (-1, 24, "charge", "Revisionsberättelse 2025.pdf (Bygg AB)"),
    (0, 1, "purchase", 10),
    (0, 2, "charge", "Arbetsgivardeklaration februari 2026.pdf (Kund AB)"),
    (0, 3, "adjustment", 5),
]
DEMO_ADJUSTMENT_REASON = "Kompensation: två signeringar stoppades av en driftstörning hos BankID"
# The daily usage curve covers at least this many days, and all of last month.
USAGE_DAYS = 35

# Each customer's folders, one of each access kind, with the files in them:
# (folder, customer access, audience, who is selected, primary contact manages, [(file, kind)]).
# "selected" is "other" (the customer's non-primary user, else the primary contact) or "primary".
# A file kind ending in ".png" is a chart (demo.files.demo_chart_for), any other a PDF.
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
        "customer's demo folders and files. Safe to run again: it only adds what is missing. "
        "Refuses to run with PORTAL_DEBUG false (production) unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with PORTAL_DEBUG false: every demo user's password is public.",
        )

    def _user(self, email: str, name: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=PASSWORD, name=name, **extra)
            self.stdout.write(f"  user {email}")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            # The demo users' password is in the README: in production they would be open doors.
            raise CommandError(
                "seed_demo makes users whose password is published, and PORTAL_DEBUG is false "
                "(production). Run it on a development setup (PORTAL_DEBUG=true, as `make run` does), "
                "or pass --force if this really is a throwaway installation."
            )
        self.stdout.write("Seeding demo data")
        collaborations = self._organisations()
        self._prepare_queue_folders()
        for collaboration in collaborations:
            self._documents(collaboration)
        # Uploads count their bytes as they go; this puts right any drift (none, normally), so the
        # usage curve below ends at what is really stored.
        billing_services.storage_reconcile()
        self._billing()
        if self._signings():
            # The sealed PDF is stored now: today's usage snapshot says so too.
            billing_services.usage_snapshot()
        self.stdout.write(
            "  totals: "
            f"{Folder.objects.count()} folders, {Document.objects.count()} documents, "
            f"{DocumentVersion.objects.count()} versions, "
            f"{DocumentVersion.objects.filter(preview_status='ready').count()} previews, "
            f"{BalanceEntry.objects.count()} ledger entries, "
            f"{UsageSnapshot.objects.count()} usage snapshots, "
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
            # What partner_create gives every new partner; once per partner.
            billing_services.signature_welcome_grant(partner=partner)
        for partner_name, name, org_number, people, assigned in CUSTOMERS:
            partner = partners[partner_name]
            customer, _ = CustomerAccount.objects.get_or_create(
                org_number=org_number,
                created_by_partner=partner,
                defaults={"name": name, "kind": CustomerKind.DOCUMENTS},
            )
            for email, person, is_primary in people:
                user = self._user(email, person)
                self._personnummer(user)
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

    def _personnummer(self, user: User) -> None:
        """The demo user's BankID test number, unless they have one or another user has it."""
        number = DEMO_PERSONNUMMER.get(user.email, "")
        if number and not user.personnummer and not User.objects.filter(personnummer=number).exists():
            user.personnummer = number
            user.save(update_fields=["personnummer"])

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
        admin = self._partner_admin(collaboration.partner)
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

    # --- E-signing ---------------------------------------------------------------------------

    def _signings(self) -> bool:
        """For Kund AB: one signing completed by Karin with its sealed PDF in Avtal (a folder she
        sees), one waiting on Karin, one declined by Olle. Made once (none there yet)."""
        collaboration = Collaboration.objects.filter(
            partner__org_number=DEMO_LEDGER_PARTNER, customer__name="Kund AB"
        ).first()
        if collaboration is None or SigningRequest.objects.filter(collaboration=collaboration).exists():
            return False
        sender = User.objects.get(email="erik@byra.example")
        karin = User.objects.get(email="karin@kund.example")
        olle = User.objects.get(email="olle@kund.example")
        devkeys.ensure_dev_sealing_key()

        def doc(folder: str, name: str) -> Document:
            return Document.objects.get(
                folder__collaboration=collaboration, folder__name=folder, name=name, deleted_at__isnull=True
            )

        def party(user: User, order: int = 1) -> signing_services.PartyInput:
            return signing_services.PartyInput(user.get_full_name(), user.email, order=order)

        def sign(request: SigningRequest, user: User, action: str = "sign", reason: str = "") -> None:
            who = Party.objects.get(request=request, email=user.email)
            answer = method_for(who).start(who)  # declining needs the code too
            signing_services.party_act(
                party=who, action=action, answer=answer, reason=reason, ip="192.0.2.10", user_agent="Demo"
            )

        deadline = timezone.now() + dt.timedelta(days=14)
        done = signing_services.signing_send(
            collaboration=collaboration,
            actor=sender,
            document=doc("Avtal", "Uppdragsavtal 2026.pdf"),
            parties=[party(karin)],
            deadline=deadline,
            message="Hej Karin! Här är uppdragsavtalet för 2026.",
        )
        sign(done, karin)
        signing_tasks.seal_signing.apply(args=(done.pk,))
        done.refresh_from_db()
        if done.sealed_version_id is not None:
            documents_tasks.render_preview(done.sealed_version_id)
        # Karin signs this one with BankID where BankID is configured (make run: the simulator).
        karin_first = party(karin)
        if settings.BANKID_URL and karin.personnummer:
            karin_first = replace(karin_first, method=Method.BANKID, personnummer=karin.personnummer)
        signing_services.signing_send(
            collaboration=collaboration,
            actor=sender,
            document=doc("Avtal", "Personuppgiftsbiträdesavtal.pdf"),
            parties=[karin_first, party(olle, order=2)],
            deadline=deadline,
            reminder_days=3,
        )
        declined = signing_services.signing_send(
            collaboration=collaboration,
            actor=sender,
            document=doc("Årsredovisning", "Årsredovisning 2025.pdf"),
            parties=[party(olle)],
            deadline=deadline,
        )
        sign(declined, olle, "decline", "Jag är inte firmatecknare; Karin skriver under.")
        self.stdout.write("  signings for Kund AB: completed and sealed, waiting on Karin, declined")
        return True

    # --- Billing --------------------------------------------------------------------------------

    @transaction.atomic
    def _billing(self) -> None:
        today = timezone.localdate()
        partners = list(Partner.objects.filter(org_number__in=[org for _n, org, _p, _m in PARTNERS]))
        for partner in partners:
            self._usage_history(partner, today)
        demo = next((p for p in partners if p.org_number == DEMO_LEDGER_PARTNER), None)
        if demo is None:
            return
        self._ledger_history(demo, today)
        last_month = plans.previous_month(today)
        if not Statement.objects.filter(partner=demo, period=last_month).exists():
            statement = billing_services.statement_make(partner=demo, period=last_month)
            self.stdout.write(
                f"  statement {demo.name} {last_month:%Y-%m}: {format_sek(statement.total_ore)}"
            )

    def _ledger_history(self, partner: Partner, today: dt.date) -> None:
        """The ledger of DEMO_LEDGER, made through the billing services and then dated back, oldest
        first, so each entry's `balance_after` follows from the one before it in time."""
        if BalanceEntry.objects.filter(partner=partner, reference="demo-signing:1").exists():
            return
        admin = self._partner_admin(partner)
        if admin is None:
            return
        staff = (
            User.objects.filter(
                partner_memberships__partner=partner, partner_memberships__role=PartnerRole.STAFF
            )
            .order_by("pk")
            .first()
        )
        site_admin = User.objects.get(email=SITE_ADMIN[0])
        last_month, this_month = plans.previous_month(today), plans.month_start(today)
        month_began = timezone.make_aware(dt.datetime.combine(this_month, dt.time()))
        so_far = timezone.now() - month_began
        this_month_steps = sum(1 for month, *_rest in DEMO_LEDGER if month == 0)

        def when(month: int, day: int) -> dt.datetime:
            if month < 0:
                return timezone.make_aware(
                    dt.datetime.combine(last_month + dt.timedelta(days=day - 1), dt.time(10))
                )
            # Spread over the part of this month that has passed, however short, in order.
            return month_began + so_far * day / (this_month_steps + 1)

        # The partner "joined" ten days before last month, with its welcome grant.
        joined = timezone.make_aware(dt.datetime.combine(last_month - dt.timedelta(days=10), dt.time(9)))
        Partner.objects.filter(pk=partner.pk, created_at__gt=joined).update(created_at=joined)
        BalanceEntry.objects.filter(partner=partner, kind=EntryKind.GRANT, reference="welcome").update(
            created_at=joined
        )
        charges = 0
        for month, day, step, what in DEMO_LEDGER:
            if step == "purchase":
                entry = billing_services.signature_purchase(
                    partner=partner, actor=admin, signatures=int(what)
                )
            elif step == "charge":
                charges += 1
                entry = billing_services.signature_charge(
                    partner=partner,
                    actor=staff or admin,
                    reference=f"demo-signing:{charges}",
                    reason=f"Signering: {what}",
                )
            else:
                entry = billing_services.balance_adjust(
                    partner=partner, actor=site_admin, amount=int(what), reason=DEMO_ADJUSTMENT_REASON
                )
            moment = when(month, day)
            BalanceEntry.objects.filter(pk=entry.pk).update(created_at=moment)
            InvoiceLine.objects.filter(entry=entry).update(
                created_at=moment, period=plans.month_start(timezone.localtime(moment).date())
            )
        self.stdout.write(f"  signature ledger {partner.name}: {len(DEMO_LEDGER)} entries")

    def _usage_history(self, partner: Partner, today: dt.date) -> None:
        """Daily usage snapshots, in all and per customer, rising to what the partner stores today;
        days that have a snapshot are left as they are. Also the storage peaks of last month (from
        the curve) and this month (what the uploads reached), when missing."""
        first = min(today - dt.timedelta(days=USAGE_DAYS - 1), plans.previous_month(today))
        span = (today - first).days
        have = set(
            UsageSnapshot.objects.filter(partner=partner, customer=None, day__gte=first).values_list(
                "day", flat=True
            )
        )
        used = Partner.objects.values_list("storage_used_bytes", flat=True).get(pk=partner.pk)
        per_customer = {
            customer_id: size
            for (_partner_id, customer_id), size in billing_usage.bytes_by_customer(partner.pk).items()
        }
        rows: list[UsageSnapshot] = []
        for offset in range(span + 1):
            day = first + dt.timedelta(days=offset)
            if day in have:
                continue
            # From 45 % to all of it, faster towards the end; integer per mille, no floats.
            permille = 450 + 550 * offset * offset // (span * span)
            rows.append(
                UsageSnapshot(partner=partner, customer=None, day=day, bytes_used=used * permille // 1000)
            )
            rows += [
                UsageSnapshot(
                    partner=partner, customer_id=customer_id, day=day, bytes_used=size * permille // 1000
                )
                for customer_id, size in per_customer.items()
            ]
        if rows:
            UsageSnapshot.objects.bulk_create(rows)
            self.stdout.write(f"  usage snapshots {partner.name}: {span + 1 - len(have)} days")
        for period in (plans.previous_month(today), plans.month_start(today)):
            highest = UsageSnapshot.objects.filter(
                partner=partner,
                customer=None,
                day__gte=period,
                day__lt=plans.month_start(period + dt.timedelta(days=31)),
            ).aggregate(m=Max("bytes_used"))["m"]
            if period == plans.month_start(today):
                highest = max(highest or 0, used)
            StoragePeak.objects.get_or_create(
                partner=partner, period=period, defaults={"peak_bytes": highest or 0}
            )

    def _partner_admin(self, partner: Partner) -> User | None:
        return (
            User.objects.filter(
                partner_memberships__partner=partner, partner_memberships__role=PartnerRole.ADMIN
            )
            .order_by("pk")
            .first()
        )
