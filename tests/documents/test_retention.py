"""Retention rules: the dates, setting a rule (only longer), the rule's page, and above all that a
document under retention survives every way of deleting it (each actor, each view, the services,
the trash's purge) and every move that would shorten it, and goes the day after its retention ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from documents import retention, services
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    RetentionKind,
    TrashEntry,
)
from documents.retention import Rule
from documents.storage import document_storage
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import AuditEvent, User
from tests.conftest import World

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=timezone.get_current_timezone())


# --- Rule dates ----------------------------------------------------------------------------


def test_fiscal_year_ending_in_december_keeps_seven_years_after_it() -> None:
    rule = Rule(RetentionKind.FISCAL, 7, 12)
    assert rule.until(_at(2026, 3, 15)) == dt.date(2033, 12, 31)
    assert rule.until(_at(2026, 1, 1, 0)) == dt.date(2033, 12, 31)
    assert rule.until(_at(2026, 12, 31, 23)) == dt.date(2033, 12, 31)


def test_fiscal_year_is_the_portals_time_zone() -> None:
    # 23:30 UTC on New Year's Eve is already the next year in Stockholm.
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert Rule(RetentionKind.FISCAL, 7, 12).until(late) == dt.date(2034, 12, 31)


def test_fiscal_year_ending_in_june() -> None:
    rule = Rule(RetentionKind.FISCAL, 7, 6)
    assert rule.until(_at(2026, 3, 15)) == dt.date(2033, 6, 30)
    assert rule.until(_at(2026, 6, 30)) == dt.date(2033, 6, 30)
    assert rule.until(_at(2026, 7, 1)) == dt.date(2034, 6, 30)


def test_years_from_the_upload() -> None:
    assert Rule(RetentionKind.UPLOAD, 10).until(_at(2026, 3, 15)) == dt.date(2036, 3, 15)
    assert Rule(RetentionKind.UPLOAD, 1).until(_at(2026, 12, 3)) == dt.date(2027, 12, 3)


def test_29_february() -> None:
    leap = _at(2024, 2, 29)
    assert Rule(RetentionKind.UPLOAD, 7).until(leap) == dt.date(2031, 2, 28)
    assert Rule(RetentionKind.UPLOAD, 8).until(leap) == dt.date(2032, 2, 29)
    # A fiscal year ending in February ends on the 29th in a leap year.
    assert Rule(RetentionKind.FISCAL, 1, 2).until(_at(2027, 2, 1)) == dt.date(2028, 2, 29)
    assert Rule(RetentionKind.FISCAL, 1, 2).until(_at(2024, 2, 29)) == dt.date(2025, 2, 28)


def test_rule_text() -> None:
    with translation.override("en"):
        assert retention.rule_text(Rule(RetentionKind.FISCAL, 7, 12)) == (
            "documents are kept 7 years after the end of the fiscal year (December)"
        )
        assert (
            retention.rule_text(Rule(RetentionKind.UPLOAD, 1))
            == "documents are kept 1 year after their upload"
        )


# --- The world -----------------------------------------------------------------------------


@dataclass
class Kept:
    world: World
    root: Folder  # "Bokföring": edit for all customer users, fiscal 7 years (December)
    sub: Folder  # "2026" under it
    plain: Folder  # "Övrigt": top-level, no rule
    firm_doc: Document  # by the admin, in root, two versions
    customer_doc: Document  # by the customer user, in root
    sub_doc: Document  # by the admin, in sub

    def refresh(self) -> None:
        for name in ("firm_doc", "customer_doc", "sub_doc"):
            setattr(self, name, Document.objects.get(pk=getattr(self, name).pk))


def _set(
    folder: Folder, actor: User, kind: str = RetentionKind.FISCAL, years: int = 7, month: int = 12
) -> Folder:
    return services.folder_set_retention(
        folder=folder, actor=actor, kind=kind, years=years, fiscal_end_month=month
    )


def _upload(folder: Folder, actor: User, name: str, *, by_customer: bool = False) -> Document:
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[PDF + name.encode()], by_customer=by_customer
    ).document


@pytest.fixture
def kept(world: World) -> Kept:
    User.objects.update(language="en")
    root = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokföring",
        customer_access=CustomerAccess.EDIT,
        audience=Audience.ALL,
    )
    sub = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2026", parent=root
    )
    plain = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Övrigt")
    firm_doc = _upload(root, world.admin, "Verifikationer.pdf")
    services.document_upload(
        folder=root, actor=world.admin, name="Verifikationer.pdf", chunks=[PDF + b"v2"], by_customer=False
    )
    customer_doc = _upload(root, world.customer_user, "Kvitto.pdf", by_customer=True)
    sub_doc = _upload(sub, world.admin, "Huvudbok.pdf")
    _set(root, world.admin)
    return Kept(world, root, sub, plain, firm_doc, customer_doc, sub_doc)


def _snapshot(kept: Kept) -> tuple[Any, ...]:
    """What a refused deletion must leave as it was: the rows, the files and the counter."""
    versions = DocumentVersion.objects.filter(document__folder__root=kept.root).order_by("pk")
    keys = list(versions.values_list("storage_key", flat=True))
    return (
        sorted(Document.objects.filter(folder__root=kept.root).values_list("pk", "folder_id", "deleted_at")),
        sorted(versions.values_list("pk", "deleted_at", "purged_at")),
        sorted(Folder.all_objects.filter(root=kept.root).values_list("pk", "deleted_at")),
        [document_storage().exists(key) for key in keys],
        Partner.objects.get(pk=kept.world.partner.pk).storage_used_bytes,
    )


def _url(name: str, kept: Kept, *args: int) -> str:
    return reverse(f"documents:{name}", args=[kept.world.collaboration.pk, *args])


# --- Setting a rule ------------------------------------------------------------------------


def test_setting_a_rule_is_recorded_with_the_old_and_new_rule(kept: Kept) -> None:
    _set(kept.root, kept.world.admin, years=10)
    folder = Folder.objects.get(pk=kept.root.pk)
    assert (folder.retention_kind, folder.retention_years, folder.retention_fiscal_end_month) == (
        "fiscal",
        10,
        12,
    )
    event = AuditEvent.objects.filter(action="folder.retention").latest("pk")
    assert event.details["old"] == {"kind": "fiscal", "years": 7, "fiscal_end_month": 12}
    assert event.details["new"] == {"kind": "fiscal", "years": 10, "fiscal_end_month": 12}
    first = AuditEvent.objects.filter(action="folder.retention").earliest("pk")
    assert first.details["old"] is None


def test_lengthening_is_allowed_shortening_and_removing_are_refused(kept: Kept) -> None:
    _set(kept.root, kept.world.admin, years=10)
    _set(kept.root, kept.world.admin, years=10, month=12)  # the same rule again
    before = Folder.objects.filter(pk=kept.root.pk).values_list("retention_kind", "retention_years").get()
    with translation.override("en"):
        for kind, years in ((RetentionKind.FISCAL, 9), (RetentionKind.UPLOAD, 10), (RetentionKind.NONE, 7)):
            with pytest.raises(ServiceError) as refused:
                _set(kept.root, kept.world.admin, kind=kind, years=years)
            assert "The retention rule was not changed" in refused.value.message
            assert "Verifikationer.pdf (until" in refused.value.message
    assert (
        Folder.objects.filter(pk=kept.root.pk).values_list("retention_kind", "retention_years").get()
        == before
    )
    # A later end of the fiscal year is longer (a June year end pushes a December upload to 2034).
    _set(kept.root, kept.world.admin, years=10, month=12)
    _set(kept.plain, kept.world.admin, years=3)
    _set(kept.plain, kept.world.admin, kind=RetentionKind.NONE)  # nothing in it: removing is fine


def test_shortening_names_at_most_five_documents(kept: Kept) -> None:
    for i in range(6):
        _upload(kept.sub, kept.world.admin, f"Bilaga {i}.pdf")
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        _set(kept.root, kept.world.admin, kind=RetentionKind.NONE)
    assert refused.value.message.count("(until") == 5
    assert "and 4 more" in refused.value.message


def test_shortening_is_allowed_once_the_retention_has_ended(kept: Kept) -> None:
    DocumentVersion.objects.filter(document__folder__root=kept.root).update(created_at=_at(2000, 1, 1))
    _set(kept.root, kept.world.admin, kind=RetentionKind.NONE)
    assert Folder.objects.get(pk=kept.root.pk).retention_kind == ""


def test_a_document_in_the_trash_holds_the_rule_too(world: World) -> None:
    folder = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Arkiv")
    document = _upload(folder, world.admin, "Gammal.pdf")
    services.documents_delete(documents=[document], actor=world.admin)  # no rule yet: deleted
    _set(folder, world.admin, years=7)  # a rule set after the deletion covers it in the trash
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        _set(folder, world.admin, years=3)
    assert "Gammal.pdf" in refused.value.message


def test_only_a_partner_administrator_sets_a_rule_on_a_top_level_folder(kept: Kept) -> None:
    before = _snapshot(kept), AuditEvent.objects.count()
    for actor in (kept.world.staff, kept.world.customer_user, kept.world.outsider):
        with pytest.raises(ServiceError):
            _set(kept.root, actor, years=10)
    with pytest.raises(ServiceError):
        _set(kept.sub, kept.world.admin, years=10)
    for years, month in ((0, 12), (31, 12), (7, 0), (7, 13)):
        with pytest.raises(ServiceError):
            _set(kept.root, kept.world.admin, years=years, month=month)
    with pytest.raises(ServiceError):
        _set(kept.root, kept.world.admin, kind="forever")
    assert (_snapshot(kept), AuditEvent.objects.count()) == before
    assert Folder.objects.get(pk=kept.root.pk).retention_years == 7
    assert Folder.objects.get(pk=kept.sub.pk).retention_kind == ""


# --- The rule's page -----------------------------------------------------------------------


def test_admin_sets_the_rule_through_its_page(kept: Kept, login: Any) -> None:
    client = login(kept.world.admin)
    url = _url("partner_folder_retention", kept, kept.root.pk)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "seven years after the end of the fiscal year" in html
    assert 'name="kind"' in html and 'name="years"' in html and ">December</option>" in html
    response = client.post(url, {"kind": "upload", "years": "30", "fiscal_end_month": "6"})
    assert response.status_code == 302 and response["Location"] == _url("partner_folder", kept, kept.root.pk)
    folder = Folder.objects.get(pk=kept.root.pk)
    assert (folder.retention_kind, folder.retention_years, folder.retention_fiscal_end_month) == (
        "upload",
        30,
        6,
    )


def test_the_page_refuses_bad_input_and_shortening_with_a_message(kept: Kept, login: Any) -> None:
    client = login(kept.world.admin)
    url = _url("partner_folder_retention", kept, kept.root.pk)
    before = _snapshot(kept), AuditEvent.objects.count()
    assert client.post(url, {"kind": "fiscal", "years": "0", "fiscal_end_month": "12"}).status_code == 422
    assert client.post(url, {"kind": "fiscal", "years": "7", "fiscal_end_month": "13"}).status_code == 422
    response = client.post(url, {"kind": "", "years": "7", "fiscal_end_month": "12"})
    assert response.status_code == 422
    assert "The retention rule was not changed" in response.content.decode()
    assert (_snapshot(kept), AuditEvent.objects.count()) == before
    assert Folder.objects.get(pk=kept.root.pk).retention_kind == "fiscal"


def test_staff_gets_403_on_the_rules_page(kept: Kept, login: Any) -> None:
    client = login(kept.world.staff)
    url = _url("partner_folder_retention", kept, kept.root.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"kind": "", "years": "7", "fiscal_end_month": "12"}).status_code == 403
    assert Folder.objects.get(pk=kept.root.pk).retention_kind == "fiscal"


@pytest.mark.parametrize("who", ["outsider", "customer_user", "primary", "staff_unassigned"])
def test_others_get_404_on_the_rules_page(kept: Kept, login: Any, who: str) -> None:
    client = login(getattr(kept.world, who))
    url = _url("partner_folder_retention", kept, kept.root.pk)
    assert client.get(url).status_code == 404
    assert client.post(url, {"kind": "", "years": "7", "fiscal_end_month": "12"}).status_code == 404
    assert Folder.objects.get(pk=kept.root.pk).retention_kind == "fiscal"


def test_a_subfolder_has_no_rules_page(kept: Kept, login: Any) -> None:
    assert login(kept.world.admin).get(_url("partner_folder_retention", kept, kept.sub.pk)).status_code == 404


def test_the_rules_page_of_another_collaborations_folder_is_404(kept: Kept, login: Any) -> None:
    other = reverse(
        "documents:partner_folder_retention", args=[kept.world.other_collaboration.pk, kept.root.pk]
    )
    assert login(kept.world.admin).get(other).status_code == 404


# --- Display --------------------------------------------------------------------------------


def _until(document: Document) -> dt.date:
    until = retention.document_until(document)
    assert until is not None
    return until


def test_folder_pages_show_the_rule_and_the_retained_rows(kept: Kept, login: Any) -> None:
    line = "documents are kept 7 years after the end of the fiscal year (December)"
    with translation.override("en"):
        until = retention.day_label(_until(kept.firm_doc))
    admin = login(kept.world.admin)
    html = admin.get(_url("partner_folder", kept, kept.root.pk)).content.decode()
    assert "Retention:" in html and line in html
    assert f"Kept until {until}" in html
    assert (
        f"Select Verifikationer.pdf (under retention: it cannot be deleted until {until} has passed)" in html
    )
    assert _url("partner_folder_retention", kept, kept.root.pk) in html
    html = admin.get(_url("partner_folder", kept, kept.sub.pk)).content.decode()
    assert line in html and "(inherited from Bokföring)" in html and f"Kept until {until}" in html
    html = admin.get(_url("partner_folder", kept, kept.plain.pk)).content.decode()
    assert "Retention:" not in html and "Kept until" not in html
    # Staff see the rule, not the link to change it.
    html = login(kept.world.staff).get(_url("partner_folder", kept, kept.root.pk)).content.decode()
    assert line in html and _url("partner_folder_retention", kept, kept.root.pk) not in html
    customer_url = reverse("documents:customer_folder", args=[kept.world.collaboration.pk, kept.sub.pk])
    html = login(kept.world.customer_user).get(customer_url).content.decode()
    assert line in html and f"Kept until {until}" in html


def test_document_page_says_until_when_and_offers_no_delete(kept: Kept, login: Any) -> None:
    until = _until(kept.firm_doc)
    client = login(kept.world.admin)
    html = client.get(reverse("documents:document_detail", args=[kept.firm_doc.pk])).content.decode()
    with translation.override("en"):
        assert f"Kept until {retention.day_label(until)}" in html
        assert f"Can be deleted from {retention.day_label(until + dt.timedelta(days=1))}" in html
    assert reverse("documents:document_delete", args=[kept.firm_doc.pk]) not in html
    older = DocumentVersion.objects.get(document=kept.firm_doc, number=1)
    assert reverse("documents:version_delete", args=[older.pk]) not in html
    # Without a rule the buttons are there.
    other = _upload(kept.plain, kept.world.admin, "Fri.pdf")
    html = client.get(reverse("documents:document_detail", args=[other.pk])).content.decode()
    assert "Kept until" not in html and reverse("documents:document_delete", args=[other.pk]) in html


# --- Nothing deletes a retained document ---------------------------------------------------


def test_the_folder_delete_page_says_why_it_cannot_delete(kept: Kept, login: Any) -> None:
    client = login(kept.world.admin)
    html = client.get(_url("partner_folder_delete", kept, kept.sub.pk)).content.decode()
    assert (
        "cannot be deleted before the retention of the documents in it has ended: Huvudbok.pdf (until" in html
    )
    assert "Delete folder</button>" not in html
    html = client.get(_url("partner_folder_delete", kept, kept.plain.pk)).content.decode()
    assert "retention" not in html and "Delete folder</button>" in html


def test_partner_admin_cannot_delete_through_any_view(kept: Kept, login: Any) -> None:
    client = login(kept.world.admin)
    before = _snapshot(kept)
    response = client.post(
        _url("partner_bulk", kept, kept.root.pk), {"action": "delete", "documents": [kept.firm_doc.pk]}
    )
    assert response.status_code == 422 and "under a retention rule" in response.content.decode()
    response = client.post(reverse("documents:document_delete", args=[kept.customer_doc.pk]), follow=True)
    assert "under a retention rule" in response.content.decode()
    older = DocumentVersion.objects.get(document=kept.firm_doc, number=1)
    response = client.post(reverse("documents:version_delete", args=[older.pk]), follow=True)
    assert "under a retention rule" in response.content.decode()
    for folder in (kept.root, kept.sub):
        response = client.post(_url("partner_folder_delete", kept, folder.pk))
        assert response.status_code == 422 and "under a retention rule" in response.content.decode()
    assert _snapshot(kept) == before


def test_assigned_staff_cannot_delete(kept: Kept, login: Any) -> None:
    client = login(kept.world.staff)
    before = _snapshot(kept)
    assert (
        client.post(
            _url("partner_bulk", kept, kept.sub.pk), {"action": "delete", "documents": [kept.sub_doc.pk]}
        ).status_code
        == 422
    )
    client.post(reverse("documents:document_delete", args=[kept.firm_doc.pk]))
    assert client.post(_url("partner_folder_delete", kept, kept.sub.pk)).status_code == 422
    assert _snapshot(kept) == before


def test_customer_user_cannot_delete_their_own_upload(kept: Kept, login: Any) -> None:
    client = login(kept.world.customer_user)
    before = _snapshot(kept)
    bulk = reverse("documents:customer_bulk", args=[kept.world.collaboration.pk, kept.root.pk])
    response = client.post(bulk, {"action": "delete", "documents": [kept.customer_doc.pk], "confirm": "1"})
    assert response.status_code == 422 and "under a retention rule" in response.content.decode()
    response = client.post(reverse("documents:document_delete", args=[kept.customer_doc.pk]), follow=True)
    assert "under a retention rule" in response.content.decode()
    assert _snapshot(kept) == before


def test_the_services_refuse_too(kept: Kept) -> None:
    before = _snapshot(kept)
    admin = kept.world.admin
    with pytest.raises(ServiceError):
        services.documents_delete(documents=[kept.firm_doc, kept.customer_doc], actor=admin)
    with pytest.raises(ServiceError):
        services.documents_delete(documents=[kept.customer_doc], actor=kept.world.customer_user)
    with pytest.raises(ServiceError):
        services.version_delete(
            version=DocumentVersion.objects.get(document=kept.firm_doc, number=1), actor=admin
        )
    for folder in (kept.root, kept.sub):
        with pytest.raises(ServiceError):
            services.folder_delete(folder=folder, actor=admin)
    assert _snapshot(kept) == before


def _upload_rule_ending(kept: Kept, last_day: dt.date) -> None:
    """Make the root's rule "4 years from the upload" and date every version so that its
    retention ends on `last_day` (4: a leap year's 29 February stays a day that exists)."""
    Folder.objects.filter(pk=kept.root.pk).update(retention_kind=RetentionKind.UPLOAD, retention_years=4)
    uploaded = timezone.make_aware(dt.datetime.combine(last_day.replace(year=last_day.year - 4), dt.time(12)))
    DocumentVersion.objects.filter(document__folder__root=kept.root).update(created_at=uploaded)
    assert Rule(RetentionKind.UPLOAD, 4).until(uploaded) == last_day


def test_deletable_the_day_after_the_retention_ends(kept: Kept, login: Any) -> None:
    today = timezone.localdate()
    _upload_rule_ending(kept, today)  # the last day is today: still kept
    client = login(kept.world.admin)
    before = _snapshot(kept)
    response = client.post(
        _url("partner_bulk", kept, kept.root.pk), {"action": "delete", "documents": [kept.firm_doc.pk]}
    )
    assert response.status_code == 422
    older = DocumentVersion.objects.get(document=kept.firm_doc, number=1)
    with pytest.raises(ServiceError):
        services.version_delete(version=older, actor=kept.world.admin)
    assert _snapshot(kept) == before

    _upload_rule_ending(kept, today - dt.timedelta(days=1))  # ended yesterday: free to go
    services.version_delete(version=older, actor=kept.world.admin)
    response = client.post(
        _url("partner_bulk", kept, kept.root.pk), {"action": "delete", "documents": [kept.firm_doc.pk]}
    )
    assert response.status_code == 302
    assert Document.objects.get(pk=kept.firm_doc.pk).deleted_at is not None
    assert client.post(_url("partner_folder_delete", kept, kept.root.pk)).status_code == 302


# --- Moves ---------------------------------------------------------------------------------


def test_moves_that_would_shorten_retention_are_refused(kept: Kept) -> None:
    admin = kept.world.admin
    before = _snapshot(kept)
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        services.documents_move(documents=[kept.firm_doc], actor=admin, target=kept.plain)
    assert "Nothing was moved: Verifikationer.pdf (until" in refused.value.message
    with pytest.raises(ServiceError):
        services.folder_move(folder=kept.sub, actor=admin, new_parent=kept.plain)
    with pytest.raises(ServiceError):
        services.folder_move(folder=kept.sub, actor=admin, new_parent=None)  # a new top-level folder: no rule
    shorter = services.folder_create(collaboration=kept.world.collaboration, actor=admin, name="Kort")
    _set(shorter, admin, kind=RetentionKind.UPLOAD, years=7)  # ends before the fiscal year's end
    with pytest.raises(ServiceError):
        services.documents_move(documents=[kept.sub_doc], actor=admin, target=shorter)
    assert _snapshot(kept) == before


def test_moves_within_the_folder_or_to_a_longer_rule_pass(kept: Kept) -> None:
    admin = kept.world.admin
    assert services.documents_move(documents=[kept.firm_doc], actor=admin, target=kept.sub) == 1
    assert services.documents_move(documents=[kept.firm_doc], actor=admin, target=kept.root) == 1
    longer = services.folder_create(collaboration=kept.world.collaboration, actor=admin, name="Längre")
    _set(longer, admin, years=10)
    services.folder_move(folder=kept.sub, actor=admin, new_parent=longer)
    assert Document.objects.get(pk=kept.sub_doc.pk).folder.root_id == longer.pk
    # A top-level folder moved under another leaves its own rule behind, like its access.
    services.folder_move(folder=kept.root, actor=admin, new_parent=longer)
    assert Folder.objects.get(pk=kept.root.pk).retention_kind == ""
    with pytest.raises(ServiceError):  # and back at the top level it would have none
        services.folder_move(folder=kept.root, actor=admin, new_parent=None)


def test_the_bulk_move_says_why(kept: Kept, login: Any) -> None:
    response = login(kept.world.admin).post(
        _url("partner_bulk", kept, kept.root.pk),
        {"action": "move", "documents": [kept.firm_doc.pk], "target": kept.plain.pk},
    )
    assert response.status_code == 422
    assert "Nothing was moved" in response.content.decode()
    assert Document.objects.get(pk=kept.firm_doc.pk).folder_id == kept.root.pk


# --- The trash's purge ---------------------------------------------------------------------


def test_the_trash_purge_keeps_a_retained_document(world: World) -> None:
    from documents import trash

    folder = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Arkiv")
    document = _upload(folder, world.admin, "Gammal.pdf")
    assert document.current_version is not None
    key = document.current_version.storage_key
    used = Partner.objects.get(pk=world.partner.pk).storage_used_bytes
    services.documents_delete(documents=[document], actor=world.admin)
    _set(folder, world.admin)  # set after the deletion: it holds the document in the trash
    entry = TrashEntry.objects.get(document=document)
    assert trash.trash_purge_due(now=timezone.now() + dt.timedelta(days=400)) == 0
    assert TrashEntry.objects.filter(pk=entry.pk).exists()
    assert DocumentVersion.objects.filter(document=document, purged_at__isnull=True).count() == 1
    assert document_storage().exists(key)
    assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes == used


# --- Ending the collaboration --------------------------------------------------------------


def test_ending_the_collaboration_keeps_the_retained_documents(
    kept: Kept, django_capture_on_commit_callbacks: Any
) -> None:
    from customers.services import collaboration_end

    free = _upload(kept.plain, kept.world.admin, "Fri.pdf")
    retained = DocumentVersion.objects.filter(document__folder__root=kept.root)
    keys = list(retained.values_list("storage_key", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        collaboration_end(
            collaboration=kept.world.collaboration,
            actor=kept.world.admin,
            delete_files=True,
            confirm=kept.world.customer.name,
        )
    assert retained.filter(purged_at__isnull=True).count() == len(keys) == 4
    assert all(document_storage().exists(key) for key in keys)
    assert Partner.objects.get(pk=kept.world.partner.pk).storage_used_bytes == sum(
        retained.values_list("size", flat=True)
    )  # still counted; the free document's bytes are not
    assert DocumentVersion.objects.get(document=free).purged_at is not None


# --- Query counts --------------------------------------------------------------------------


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _rows(folder: Folder, actor: User, count: int) -> None:
    for i in range(count):
        _upload(folder, actor, f"Underlag {i:03}.pdf")


def test_folder_page_queries_stay_constant_with_a_rule(world: World, login: Any) -> None:
    User.objects.update(language="en")
    few, many, free = (
        services.folder_create(
            collaboration=world.collaboration,
            actor=world.admin,
            name=name,
            customer_access=CustomerAccess.READ,
        )
        for name in ("En", "Många", "Fri")
    )
    _rows(few, world.admin, 1)
    _rows(many, world.admin, 30)
    _rows(free, world.admin, 30)
    _set(few, world.admin)
    _set(many, world.admin)
    for user, name in ((world.staff, "partner_folder"), (world.customer_user, "customer_folder")):
        client = login(user)
        few_url, many_url, free_url = (
            reverse(f"documents:{name}", args=[world.collaboration.pk, folder.pk])
            for folder in (few, many, free)
        )
        _queries(client, few_url)  # warm the session
        with_rule = _queries(client, few_url)
        assert _queries(client, many_url) == with_rule
        # Without a rule the page costs what it did before rules existed; with one, the one lookup.
        assert _queries(client, free_url) == with_rule - 2
