"""Benchmark data: one partner with many customers, folders and documents, made fast on PostgreSQL.

    manage.py bench_seed --customers 1000 --folders-per-customer 10 --docs-per-folder 50

makes 500,000 documents, plus one folder of --big-folder-docs (500) at the first customer, in a few
minutes on a 2-core machine. bench/pages.py measures the pages against this data.

The rows have the shape the services give them, only made in bulk: a folder's `root` and `path`
as `folder_create` sets them (ids are taken from the sequence first, so a row is written once with
its final path), the customer's access on the top-level folder with its permission rows in the
direct foreign-key tables (FolderGroupObjectPermission with the customer's all-users group for
"all users", FolderUserObjectPermission per selected user and permission), subfolders that
inherit. The first customer's folders are made through `documents.services.folder_create` itself,
and the command checks that the bulk path would have written the same rows for them. Documents
and versions are written with COPY; a document has one to three versions, its current version
the last. No files are stored: storage keys are unique (the column is) and point at nothing, so a
download of bench data fails; every preview points at one shared thumbnail stored once. Uploads
write no audit events here (only the services-made folders have theirs).

Logins (password BENCH_PASSWORD):
  bench-admin@bench.example     account administrator of Bench Byrå AB: sees every customer
  bench-staff@bench.example     staff, assigned to every 10th customer
  bench-customer@bench.example  a user at the first customer, selected in some of its folders
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone
from stdnum import luhn

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from documents import services
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentSource,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
    PreviewStatus,
)
from documents.names import search_key
from documents.storage import document_storage
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import AuditEvent, User

DOMAIN = "bench.example"
PASSWORD = "bench-password-1"
ADMIN_EMAIL = f"bench-admin@{DOMAIN}"
STAFF_EMAIL = f"bench-staff@{DOMAIN}"
CUSTOMER_EMAIL = f"bench-customer@{DOMAIN}"
PARTNER_NAME = "Bench Byrå AB"
BIG_FOLDER_NAME = "Verifikationer 2025"
PREVIEW_KEY = "bench/preview.png"
STAFF_EVERY = 10  # the staff user is assigned to every 10th customer
CUSTOMERS_PER_TRANSACTION = 100

FOLDER_NAMES = [
    "Bokslut",
    "Årsredovisning",
    "Löneunderlag",
    "Avtal",
    "Kvitton",
    "Moms",
    "Deklaration",
    "Bank",
    "Fakturor",
    "Protokoll",
    "Revision",
    "Budget",
]
DOC_PREFIXES = [
    "Faktura",
    "Kvitto",
    "Kontoutdrag",
    "Lönespecifikation",
    "Verifikation",
    "Avtal",
    "Protokoll",
    "Momsdeklaration",
    "Resultatrapport",
    "Underlag",
]
# (extension, content type, has a preview), weighted by repetition.
FILE_KINDS = (
    [("pdf", "application/pdf", True)] * 11
    + [("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False)] * 3
    + [("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False)] * 2
    + [("jpg", "image/jpeg", True)] * 2
    + [("png", "image/png", True)]
    + [("csv", "text/plain", False)]
)


def partner_org_number() -> str:
    return _orgnr(9_990_000)


def _orgnr(n: int) -> str:
    base = f"55{n % 10_000_000:07d}"
    digits = base + luhn.calc_check_digit(base)
    return f"{digits[:6]}-{digits[6:]}"


def customer_email(index: int, letter: str) -> str:
    return f"kund{index:05d}-{letter}@{DOMAIN}"


def version_count(k: int) -> int:
    """How many versions the k-th document of a folder has."""
    return 3 if k % 23 == 0 else 2 if k % 7 == 0 else 1


# --- The plan of a customer's folders, shared by the services path and the bulk path --------------


@dataclass
class FolderPlan:
    name: str
    parent: int | None  # index into the customer's plan
    customer_access: str = CustomerAccess.NONE
    audience: str = Audience.ALL
    selected: list[int] = field(default_factory=list)  # user ids
    primary_contact_manages: bool = False
    documents: int = 0
    uploader_for_customer: int | None = None  # a customer user who uploads some files (edit folders)


def folder_plan(
    *, folders: int, docs: int, primary: int, other: int, extra_selected: Sequence[int] = (), big: int = 0
) -> list[FolderPlan]:
    """A customer's folders: every fifth a subfolder of the one before it; the top-level ones cycle
    through internal, read for all users, edit for a selected user, read for the primary contact
    who manages access. `big` adds a folder with that many documents, shared with all users."""
    plan: list[FolderPlan] = []
    for j in range(folders):
        name = FOLDER_NAMES[j % len(FOLDER_NAMES)] + ("" if j < len(FOLDER_NAMES) else f" {j // 12 + 1}")
        kind = j % 5
        if kind == 4:
            plan.append(FolderPlan(name, parent=j - 1, documents=docs))
        elif kind == 0:
            plan.append(FolderPlan(name, parent=None, documents=docs))
        elif kind == 1:
            plan.append(FolderPlan(name, None, CustomerAccess.READ, Audience.ALL, documents=docs))
        elif kind == 2:
            plan.append(
                FolderPlan(
                    name,
                    None,
                    CustomerAccess.EDIT,
                    Audience.SELECTED,
                    selected=[other, *extra_selected],
                    documents=docs,
                    uploader_for_customer=other,
                )
            )
        else:
            plan.append(
                FolderPlan(
                    name,
                    None,
                    CustomerAccess.READ,
                    Audience.SELECTED,
                    selected=[primary],
                    primary_contact_manages=True,
                    documents=docs,
                )
            )
    if big:
        plan.append(FolderPlan(BIG_FOLDER_NAME, None, CustomerAccess.READ, Audience.ALL, documents=big))
    return plan


@dataclass
class Perms:
    view: Permission
    upload: Permission
    work: Permission


def bulk_folder_rows(
    *,
    plan: Sequence[FolderPlan],
    ids: Sequence[int],
    collaboration_id: int,
    group_id: int,
    actor_id: int,
    created_at: datetime,
    perms: Perms,
) -> tuple[list[Folder], list[FolderGroupObjectPermission], list[FolderUserObjectPermission]]:
    """The rows `services.folder_create` would write for `plan`, with the given folder ids."""
    folders: list[Folder] = []
    group_rows: list[FolderGroupObjectPermission] = []
    user_rows: list[FolderUserObjectPermission] = []
    for index, (spec, pk) in enumerate(zip(plan, ids, strict=True)):
        root_id: int | None = pk
        path = f"/{pk}/"
        if spec.parent is not None:
            parent = folders[spec.parent]
            root_id, path = parent.root_id, f"{parent.path}{pk}/"
        top = spec.parent is None
        access = spec.customer_access if top else CustomerAccess.NONE
        folders.append(
            Folder(
                id=pk,
                collaboration_id=collaboration_id,
                parent_id=ids[spec.parent] if spec.parent is not None else None,
                root_id=root_id,
                path=path,
                name=spec.name,
                customer_access=access,
                audience=spec.audience if top else Audience.ALL,
                primary_contact_manages=spec.primary_contact_manages if top else False,
                created_by_id=actor_id,
                created_at=created_at + timedelta(seconds=index),
            )
        )
        if not top or access == CustomerAccess.NONE:
            continue
        granted = [perms.view] + ([perms.upload] if access == CustomerAccess.EDIT else [])
        if spec.audience == Audience.ALL:
            group_rows += [
                FolderGroupObjectPermission(content_object_id=pk, group_id=group_id, permission=p)
                for p in granted
            ]
        else:
            user_rows += [
                FolderUserObjectPermission(content_object_id=pk, user_id=uid, permission=p)
                for uid in dict.fromkeys(spec.selected)
                for p in granted
            ]
    return folders, group_rows, user_rows


# --- The command --------------------------------------------------------------------------------


@dataclass
class DocBatch:
    """Folders whose documents go into one COPY."""

    folders: list[tuple[int, int, int, int | None]] = field(default_factory=list)
    # (folder id, collaboration id, number of documents, customer uploader or None)

    def documents(self) -> int:
        return sum(n for _f, _c, n, _u in self.folders)

    def versions(self) -> int:
        return sum(version_count(k) for _f, _c, n, _u in self.folders for k in range(n))


class Command(BaseCommand):
    help = (
        "Create benchmark data on PostgreSQL: a partner with --customers customers, each with "
        "--folders-per-customer folders of --docs-per-folder documents, and one folder of "
        "--big-folder-docs documents at the first customer. --reset removes earlier bench data first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--folders-per-customer", type=int, default=10)
        parser.add_argument("--docs-per-folder", type=int, default=50)
        parser.add_argument("--big-folder-docs", type=int, default=500)
        parser.add_argument("--reset", action="store_true", help="Remove existing bench data first.")
        parser.add_argument("--random-seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_seed writes with COPY: set PORTAL_DATABASE_URL to a PostgreSQL database."
            )
        customers: int = options["customers"]
        folders: int = options["folders_per_customer"]
        docs: int = options["docs_per_folder"]
        big: int = options["big_folder_docs"]
        if customers < 1 or folders < 0 or docs < 0 or big < 0:
            raise CommandError("--customers must be at least 1; the other counts at least 0.")
        started = time.monotonic()
        if options["reset"]:
            self._reset()
        elif Partner.objects.filter(org_number=partner_org_number()).exists():
            raise CommandError("Bench data exists already; pass --reset to make it again.")
        self.rng = random.Random(options["random_seed"])  # noqa: S311 -- benchmark data
        self.now = timezone.now()
        self.password = make_password(PASSWORD)
        self.perms = Perms(
            view=Permission.objects.get(content_type__app_label="documents", codename="view_folder"),
            upload=Permission.objects.get(content_type__app_label="documents", codename="upload_to_folder"),
            work=Permission.objects.get(content_type__app_label="customers", codename="work_with_customer"),
        )
        self._store_preview()
        self._base()
        total_docs = 0
        for lo in range(0, customers, CUSTOMERS_PER_TRANSACTION):
            hi = min(lo + CUSTOMERS_PER_TRANSACTION, customers)
            chunk_started = time.monotonic()
            with transaction.atomic():
                made = self._customers(lo, hi, folders=folders, docs=docs, big=big)
            total_docs += made
            self.stdout.write(
                f"  customers {hi:>6}/{customers}  documents {total_docs:>9,}  "
                f"({time.monotonic() - chunk_started:5.1f} s, total {time.monotonic() - started:6.1f} s)"
            )
        analyse_started = time.monotonic()
        self._vacuum_analyze()
        self.stdout.write(f"  vacuum analyze {time.monotonic() - analyse_started:.1f} s")
        self.stdout.write(
            self.style.SUCCESS(
                f"Bench data ready: {customers:,} customers, "
                f"{customers * folders + (1 if big else 0):,} folders, "
                f"{total_docs:,} documents in {time.monotonic() - started:.1f} s. Logins {ADMIN_EMAIL}, "
                f"{STAFF_EMAIL}, {CUSTOMER_EMAIL} (password {PASSWORD})."
            )
        )

    # --- Parts ----------------------------------------------------------------------------------

    def _store_preview(self) -> None:
        storage = document_storage()
        if storage.exists(PREVIEW_KEY):
            return
        import io

        from PIL import Image, ImageDraw

        image = Image.new("RGB", (240, 340), "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle([(0, 0), (240, 40)], fill=(33, 84, 140))
        for y in range(70, 320, 18):
            draw.line([(20, y), (220, y)], fill=(200, 200, 200), width=6)
        out = io.BytesIO()
        image.save(out, format="PNG")
        storage.save(PREVIEW_KEY, ContentFile(out.getvalue()))

    @transaction.atomic
    def _base(self) -> None:
        self.partner = Partner.objects.create(
            name=PARTNER_NAME, org_number=partner_org_number(), plan=Plan.BYRA
        )
        self.admin = self._user(ADMIN_EMAIL, "Bench Admin")
        self.staff = self._user(STAFF_EMAIL, "Bench Staff")
        self.customer_user = self._user(CUSTOMER_EMAIL, "Bench Customer")
        PartnerMembership.objects.create(partner=self.partner, user=self.admin, role=PartnerRole.ADMIN)
        PartnerMembership.objects.create(partner=self.partner, user=self.staff, role=PartnerRole.STAFF)

    def _user(self, email: str, name: str) -> User:
        return User.objects.create(email=email, name=name, password=self.password)

    def _customers(self, lo: int, hi: int, *, folders: int, docs: int, big: int) -> int:
        """Customers lo..hi-1 with their users, collaborations, folders and documents; returns the
        number of documents made."""
        rng, now = self.rng, self.now
        indexes = range(lo, hi)
        users: dict[tuple[int, str], User] = {}
        for i in indexes:
            users[(i, "a")] = User(
                email=customer_email(i, "a"), name=f"Primär Kontakt {i:05d}", password=self.password
            )
            if i % 2 == 0:
                users[(i, "b")] = User(
                    email=customer_email(i, "b"), name=f"Andra Användare {i:05d}", password=self.password
                )
        User.objects.bulk_create(users.values(), batch_size=5000)
        accounts = CustomerAccount.objects.bulk_create(
            [
                CustomerAccount(
                    name=f"Benchkund {i:05d} AB",
                    org_number=_orgnr(i),
                    kind=CustomerKind.DOCUMENTS,
                    created_by_partner=self.partner,
                    created_at=now - timedelta(days=rng.randrange(30, 1500)),
                )
                for i in indexes
            ]
        )
        groups = Group.objects.bulk_create([Group(name=f"customer-{a.pk}-all-users") for a in accounts])
        for account, group in zip(accounts, groups, strict=True):
            account.all_users_group = group
        CustomerAccount.objects.bulk_update(accounts, ["all_users_group"], batch_size=1000)
        memberships = []
        for i, account in zip(indexes, accounts, strict=True):
            memberships.append(
                CustomerMembership(
                    customer=account, user=users[(i, "a")], is_primary_contact=True, is_admin=True
                )
            )
            if (i, "b") in users:
                memberships.append(CustomerMembership(customer=account, user=users[(i, "b")]))
            if i == 0:
                memberships.append(CustomerMembership(customer=account, user=self.customer_user))
        CustomerMembership.objects.bulk_create(memberships)
        collaborations = Collaboration.objects.bulk_create(
            [
                Collaboration(
                    partner=self.partner,
                    customer=account,
                    status=CollaborationStatus.ACTIVE,
                    created_by=self.admin,
                    created_at=account.created_at,
                )
                for account in accounts
            ]
        )
        CollaborationUserObjectPermission.objects.bulk_create(
            [
                CollaborationUserObjectPermission(
                    content_object=c, user=self.staff, permission=self.perms.work
                )
                for i, c in zip(indexes, collaborations, strict=True)
                if i % STAFF_EVERY == 0
            ]
        )

        plans = []
        for i in indexes:
            primary = users[(i, "a")].pk
            other = users[(i, "b")].pk if (i, "b") in users else primary
            extra = [self.customer_user.pk] if i == 0 else []
            plans.append(
                folder_plan(
                    folders=folders,
                    docs=docs,
                    primary=primary,
                    other=other,
                    extra_selected=extra,
                    big=big if i == 0 else 0,
                )
            )
        batch = DocBatch()
        bulk_plans = []
        for i, collaboration, group, plan in zip(indexes, collaborations, groups, plans, strict=True):
            if i == 0:
                ids = self._services_folders(collaboration, group, plan)
            else:
                bulk_plans.append((collaboration, group, plan))
                continue
            for spec, pk in zip(plan, ids, strict=True):
                batch.folders.append((pk, collaboration.pk, spec.documents, spec.uploader_for_customer))
        wanted = sum(len(plan) for _c, _g, plan in bulk_plans)
        folder_ids = iter(self._ids(Folder, wanted))
        all_folders: list[Folder] = []
        all_group_rows: list[FolderGroupObjectPermission] = []
        all_user_rows: list[FolderUserObjectPermission] = []
        for collaboration, group, plan in bulk_plans:
            ids = [next(folder_ids) for _ in plan]
            rows, group_rows, user_rows = bulk_folder_rows(
                plan=plan,
                ids=ids,
                collaboration_id=collaboration.pk,
                group_id=group.pk,
                actor_id=self.admin.pk,
                created_at=collaboration.created_at,
                perms=self.perms,
            )
            all_folders += rows
            all_group_rows += group_rows
            all_user_rows += user_rows
            for spec, pk in zip(plan, ids, strict=True):
                batch.folders.append((pk, collaboration.pk, spec.documents, spec.uploader_for_customer))
        Folder.objects.bulk_create(all_folders, batch_size=5000)
        FolderGroupObjectPermission.objects.bulk_create(all_group_rows, batch_size=5000)
        FolderUserObjectPermission.objects.bulk_create(all_user_rows, batch_size=5000)
        self._copy_documents(batch)
        return batch.documents()

    def _services_folders(
        self, collaboration: Collaboration, group: Group, plan: list[FolderPlan]
    ) -> list[int]:
        """The first customer's folders, made by services.folder_create; then check that the bulk
        path would have written the same folder and permission rows."""
        made: list[Folder] = []
        for spec in plan:
            made.append(
                services.folder_create(
                    collaboration=collaboration,
                    actor=self.admin,
                    name=spec.name,
                    parent=made[spec.parent] if spec.parent is not None else None,
                    customer_access=spec.customer_access,
                    audience=spec.audience,
                    selected_user_ids=spec.selected,
                    primary_contact_manages=spec.primary_contact_manages,
                )
            )
        ids = [f.pk for f in made]
        expected, group_rows, user_rows = bulk_folder_rows(
            plan=plan,
            ids=ids,
            collaboration_id=collaboration.pk,
            group_id=group.pk,
            actor_id=self.admin.pk,
            created_at=collaboration.created_at,
            perms=self.perms,
        )
        fields = [
            "id",
            "collaboration_id",
            "parent_id",
            "root_id",
            "path",
            "name",
            "customer_access",
            "audience",
        ]
        fields += ["primary_contact_manages", "created_by_id"]
        actual = {f.pk: [getattr(f, n) for n in fields] for f in Folder.objects.filter(pk__in=ids)}
        for row in expected:
            if actual[row.pk] != [getattr(row, n) for n in fields]:
                raise CommandError(
                    f"bulk folder row differs from services: {actual[row.pk]} vs {row.__dict__}"
                )
        got_groups = set(
            FolderGroupObjectPermission.objects.filter(content_object_id__in=ids).values_list(
                "content_object_id", "group_id", "permission_id"
            )
        )
        got_users = set(
            FolderUserObjectPermission.objects.filter(content_object_id__in=ids).values_list(
                "content_object_id", "user_id", "permission_id"
            )
        )
        if got_groups != {
            (r.content_object_id, r.group_id, r.permission_id) for r in group_rows
        } or got_users != {(r.content_object_id, r.user_id, r.permission_id) for r in user_rows}:
            raise CommandError("bulk permission rows differ from what services.folder_create wrote")
        self.stdout.write(
            f"  {len(ids)} folders of the first customer made by services; bulk rows match them"
        )
        return ids

    def _ids(self, model: type[models.Model], count: int) -> list[int]:
        """`count` ids from the table's own sequence, so rows can be written with their final ids."""
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]

    def _copy_documents(self, batch: DocBatch) -> None:
        doc_ids = iter(self._ids(Document, batch.documents()))
        version_ids = iter(self._ids(DocumentVersion, batch.versions()))
        doc_rows: list[tuple[object, ...]] = []
        version_rows: list[tuple[object, ...]] = []
        rng, now = self.rng, self.now
        admin_id, staff_id = self.admin.pk, self.staff.pk
        for folder_id, collaboration_id, count, customer_uploader in batch.folders:
            offset = folder_id % len(DOC_PREFIXES)
            for k in range(count):
                ext, content_type, previewable = FILE_KINDS[rng.randrange(len(FILE_KINDS))]
                name = f"{DOC_PREFIXES[(k + offset) % len(DOC_PREFIXES)]} {k + 1:04d}.{ext}"
                by_customer = customer_uploader is not None and k % 10 == 3
                uploader = customer_uploader if by_customer else (admin_id if k % 3 else staff_id)
                doc_id = next(doc_ids)
                created = now - timedelta(seconds=rng.randrange(60, 730 * 86400))
                when = created
                version_id = 0
                for number in range(1, version_count(k) + 1):
                    version_id = next(version_ids)
                    version_rows.append(
                        (
                            version_id,
                            doc_id,
                            number,
                            f"documents/{collaboration_id}/bench-{version_id:x}",
                            max(2_000, min(int(rng.lognormvariate(12, 1.5)), 80_000_000)),
                            content_type,
                            f"{rng.getrandbits(256):064x}",
                            uploader,
                            by_customer,
                            when,
                            PREVIEW_KEY if previewable else "",
                            PreviewStatus.READY if previewable else PreviewStatus.NONE,
                        )
                    )
                    if number < version_count(k):
                        when = when + timedelta(seconds=rng.randrange(3600, 90 * 86400))
                doc_rows.append(
                    (
                        doc_id,
                        folder_id,
                        collaboration_id,
                        name,
                        search_key(name),
                        version_id,
                        by_customer,
                        DocumentSource.UPLOAD,
                        created,
                        when,
                        version_count(k),
                    )
                )
        self._copy(
            Document,
            [
                "id",
                "folder",
                "collaboration",
                "name",
                "search_name",
                "current_version",
                "uploaded_by_customer",
                "source",
                "created_at",
                "updated_at",
                "version_count",
            ],
            doc_rows,
        )
        self._copy(
            DocumentVersion,
            [
                "id",
                "document",
                "number",
                "storage_key",
                "size",
                "content_type",
                "sha256",
                "uploaded_by",
                "uploaded_by_customer",
                "created_at",
                "preview_key",
                "preview_status",
            ],
            version_rows,
        )

    def _copy(self, model: type[models.Model], names: list[str], rows: list[tuple[object, ...]]) -> None:
        fields = [model._meta.get_field(n) for n in names]
        columns = ", ".join(
            connection.ops.quote_name(f.column) for f in fields if isinstance(f, models.Field)
        )
        assert columns.count(",") == len(names) - 1
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _vacuum_analyze(self) -> None:
        """Fresh bulk rows have no statistics and an empty visibility map: what a database in use for
        months would have, the planner and index-only scans need."""
        tables = [
            m._meta.db_table
            for m in (
                Folder,
                FolderGroupObjectPermission,
                FolderUserObjectPermission,
                Document,
                DocumentVersion,
                Collaboration,
                CollaborationUserObjectPermission,
                CustomerAccount,
                CustomerMembership,
                User,
                Group,
            )
        ]
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")

    # --- Reset ----------------------------------------------------------------------------------

    def _reset(self) -> None:
        """Remove earlier bench data: the heavy tables with plain SQL, the rest through the ORM."""
        started = time.monotonic()
        partner = Partner.objects.filter(org_number=partner_org_number()).first()
        with transaction.atomic():
            if partner is not None:
                collaboration_ids = list(
                    Collaboration.objects.filter(partner=partner).values_list("pk", flat=True)
                )
                # Table and column names come from the models, values are parameters.
                folders = f"SELECT id FROM {Folder._meta.db_table} WHERE collaboration_id = ANY(%s)"  # noqa: S608
                documents = f"SELECT id FROM {Document._meta.db_table} WHERE folder_id IN ({folders})"  # noqa: S608
                deletes = [
                    (FolderUserObjectPermission, "content_object_id", folders),
                    (FolderGroupObjectPermission, "content_object_id", folders),
                    (DocumentVersion, "document_id", documents),
                    (Document, "folder_id", folders),
                    (Folder, "id", folders),
                ]
                with connection.cursor() as cursor:
                    for model, column, subquery in deletes:
                        sql = f"DELETE FROM {model._meta.db_table} WHERE {column} IN ({subquery})"  # noqa: S608
                        cursor.execute(sql, [collaboration_ids])
                AuditEvent.objects.filter(collaboration_id__in=collaboration_ids).delete()
                accounts = CustomerAccount.objects.filter(created_by_partner=partner)
                group_ids = list(accounts.values_list("all_users_group_id", flat=True))
                accounts.delete()
                Group.objects.filter(pk__in=[g for g in group_ids if g]).delete()
                partner.delete()
            User.objects.filter(email__endswith=f"@{DOMAIN}").delete()
        self.stdout.write(f"  removed earlier bench data in {time.monotonic() - started:.1f} s")
