"""signing.services: order of turns, charging and refunds, tokens, codes, and doing things once."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone, translation

from billing import services as billing
from billing.models import BalanceEntry, EntryKind
from documents import services as documents
from documents.models import Document, Folder
from documents.storage import document_storage as documents_storage
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import OutboxMessage
from portal.tasks import run_outbox
from signing import selectors, services
from signing.models import Event, Party, Role, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.pdfs import blank_pdf

IN_A_WEEK = dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def document(folder: Folder, actor: Any, name: str = "Avtal.pdf", data: bytes | None = None) -> Document:
    version = documents.document_upload(
        folder=folder,
        actor=actor,
        name=name,
        chunks=[data if data is not None else blank_pdf()],
        by_customer=False,
    )
    return version.document


def send(world: World, doc: Document, parties: list[PartyInput], **kwargs: Any) -> SigningRequest:
    options: dict[str, Any] = {"deadline": timezone.now() + IN_A_WEEK} | kwargs
    return services.signing_send(
        collaboration=world.collaboration, actor=world.staff, document=doc, parties=parties, **options
    )


def balance(world: World) -> int:
    return Partner.objects.get(pk=world.partner.pk).signature_balance


def links(address: str) -> list[str]:
    return [
        m
        for message in mail.outbox
        if message.to == [address]
        for m in re.findall(r"/sign/([0-9a-f]+)/", str(message.body))
    ]


def code_for(address: str) -> str:
    """The last one-time code emailed to `address` (it ends the code email's subject)."""
    codes = [
        match.group(1)
        for message in mail.outbox
        if message.to == [address]
        for match in [re.search(r":\s*(\d{6})$", str(message.subject))]
        if match
    ]
    assert codes, f"no code emailed to {address}"
    return codes[-1]


def act(party: Party, action: str = "") -> Party:
    """Ask for the code, read it from the email, and sign or approve."""
    services.party_start_method(party=Party.objects.get(pk=party.pk))
    verb = action or ("approve" if party.role == Role.APPROVER else "sign")
    return services.party_act(
        party=Party.objects.get(pk=party.pk), action=verb, answer=code_for(party.email), ip="10.0.0.9"
    )


def parties_of(request: SigningRequest) -> dict[str, Party]:
    return {p.name: p for p in Party.objects.filter(request=request)}


# --- Turns ---------------------------------------------------------------------------------------


def test_sequential_a_then_b(funded: World, folder: Folder, django_capture_on_commit_callbacks: Any) -> None:
    world = funded
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            world,
            document(folder, world.admin),
            [PartyInput("A", "a@example.com", order=1), PartyInput("B", "b@example.com", order=2)],
        )
    p = parties_of(request)
    assert links("a@example.com") and not links("b@example.com")
    with pytest.raises(ServiceError, match="not your turn"):
        services.party_start_method(party=p["B"])
    with django_capture_on_commit_callbacks(execute=True):
        act(p["A"])
    assert links("b@example.com")
    request.refresh_from_db()
    assert request.status == Status.PENDING
    act(p["B"])
    request.refresh_from_db()
    assert request.status == Status.COMPLETED


def test_parallel_a_and_b(funded: World, folder: Folder, django_capture_on_commit_callbacks: Any) -> None:
    world = funded
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            world,
            document(folder, world.admin),
            [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")],
        )
    assert links("a@example.com") and links("b@example.com")
    p = parties_of(request)
    act(p["B"])
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
    act(p["A"])
    assert SigningRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def test_mixed_approver_then_parallel_signers_and_a_viewer(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    world = funded
    parties = [
        PartyInput("A", "a@example.com", role=Role.APPROVER, order=1),
        PartyInput("B", "b@example.com", order=2),
        PartyInput("C", "c@example.com", order=2),
        PartyInput("D", "d@example.com", role=Role.VIEWER, order=3),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        request = send(world, document(folder, world.admin), parties)
    p = parties_of(request)
    assert [bool(links(x)) for x in ("a@example.com", "b@example.com", "c@example.com", "d@example.com")] == [
        True,
        False,
        False,
        False,
    ]
    for early in (p["B"], p["C"]):
        assert selectors.may_act(early) == "It is not your turn yet: you will get an email when it is."
    assert selectors.may_act(p["D"]) == "You get a copy when everyone has signed."
    with pytest.raises(ServiceError):
        services.party_act(party=p["A"], action="sign", answer="000000")  # an approver approves
    with django_capture_on_commit_callbacks(execute=True):
        act(p["A"])
    assert links("b@example.com") and links("c@example.com") and not links("d@example.com")
    act(p["C"])
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
    act(p["B"])
    assert SigningRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def test_nobody_acts_twice_or_after_the_end(funded: World, folder: Folder) -> None:
    request = send(funded, document(folder, funded.admin), [PartyInput("A", "a@example.com")])
    a = parties_of(request)["A"]
    act(a)
    with pytest.raises(ServiceError, match="already been signed by everyone"):
        services.party_act(party=Party.objects.get(pk=a.pk), action="sign", answer="123456")
    assert Event.objects.filter(request=request, kind="signed").count() == 1


def test_decline_needs_a_reason_and_stops_the_request(funded: World, folder: Folder) -> None:
    request = send(
        funded,
        document(folder, funded.admin),
        [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")],
    )
    a = parties_of(request)["A"]
    with pytest.raises(ServiceError, match="Say why"):
        services.party_act(party=a, action="decline", reason="  ")
    services.party_start_method(party=a)  # declining needs the code, as signing does
    services.party_act(party=a, action="decline", answer=code_for("a@example.com"), reason="Fel belopp")
    request.refresh_from_db()
    assert request.status == Status.DECLINED
    b = parties_of(request)["B"]
    assert selectors.may_act(b) == "This signing was declined and has stopped."


# --- Codes and links ----------------------------------------------------------------------------------


def test_tokens_are_personal_and_unguessable(funded: World, folder: Folder) -> None:
    request = send(
        funded,
        document(folder, funded.admin),
        [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")],
    )
    a, b = parties_of(request)["A"], parties_of(request)["B"]
    assert selectors.party_for_token(selectors.party_token(a)).pk == a.pk
    assert selectors.party_token(a) != selectors.party_token(b)
    assert len(selectors.party_token(a)) >= 40
    token = selectors.party_token(a)
    changed = token[:-1] + ("1" if token[-1] != "1" else "2")
    for wrong in ("", "abc", changed):
        with pytest.raises(ServiceError, match="not valid"):
            selectors.party_for_token(wrong)


def test_wrong_or_expired_codes_are_refused_with_a_limit(
    funded: World, folder: Folder, settings: Any
) -> None:
    settings.SIGNING_CODE_TRIES = 3
    request = send(funded, document(folder, funded.admin), [PartyInput("A", "a@example.com")])
    a = parties_of(request)["A"]
    with pytest.raises(ServiceError, match="Ask for a code first"):
        services.party_act(party=a, action="sign", answer="123456")
    services.party_start_method(party=a)
    right = code_for("a@example.com")
    wrong = "000000" if right != "000000" else "111111"
    with pytest.raises(ServiceError, match="2 tries left"):
        services.party_act(party=a, action="sign", answer=wrong)
    with pytest.raises(ServiceError, match="1 tries left"):
        services.party_act(party=a, action="sign", answer=wrong)
    with pytest.raises(ServiceError, match="Too many wrong codes"):
        services.party_act(party=a, action="sign", answer=wrong)
    with pytest.raises(ServiceError, match="Too many wrong codes"):
        services.party_act(party=a, action="sign", answer=right)  # even the right one, now
    services.party_start_method(party=a)  # a new code resets the tries
    Party.objects.filter(pk=a.pk).update(code_sent_at=timezone.now() - dt.timedelta(minutes=11))
    with pytest.raises(ServiceError, match="expired"):
        services.party_act(party=a, action="sign", answer=code_for("a@example.com"))
    assert Party.objects.get(pk=a.pk).acted_at is None


# --- Balance -------------------------------------------------------------------------------------------


def test_sending_charges_one_signature_and_an_empty_balance_sends_nothing(
    world: World, folder: Folder
) -> None:
    doc = document(folder, world.admin)
    assert balance(world) == 0
    with pytest.raises(billing.BalanceEmpty):
        send(world, doc, [PartyInput("A", "a@example.com")])
    assert not SigningRequest.objects.exists() and not Party.objects.exists() and mail.outbox == []
    billing.signature_grant(partner=world.partner, amount=1, reason="test")
    request = send(world, doc, [PartyInput("A", "a@example.com")])
    assert balance(world) == 0
    assert BalanceEntry.objects.get(kind=EntryKind.CHARGE).reference == f"signing:{request.pk}"


def test_cancel_before_any_signature_refunds_once(funded: World, folder: Folder) -> None:
    request = send(funded, document(folder, funded.admin), [PartyInput("A", "a@example.com")])
    assert balance(funded) == 4
    with pytest.raises(ServiceError):
        services.signing_cancel(signing=request, actor=funded.staff_unassigned)
    services.signing_cancel(signing=request, actor=funded.staff)
    assert balance(funded) == 5
    with pytest.raises(ServiceError):
        services.signing_cancel(signing=request, actor=funded.staff)
    assert balance(funded) == 5
    assert BalanceEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_cancel_after_a_signature_refunds_nothing(funded: World, folder: Folder) -> None:
    request = send(
        funded,
        document(folder, funded.admin),
        [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")],
    )
    act(parties_of(request)["A"])
    services.signing_cancel(signing=request, actor=funded.admin)  # an account administrator may
    assert balance(funded) == 4
    assert not BalanceEntry.objects.filter(kind=EntryKind.REFUND).exists()


# --- Bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parties", "message"),
    [
        ([], "Add at least one party."),
        ([PartyInput("A", "")], "A has no email address."),
        ([PartyInput("A", "not-an-email")], "not-an-email is not an email address."),
        (
            [PartyInput("A", "a@example.com"), PartyInput("B", "A@Example.com")],
            "a@example.com is given for two parties.",
        ),
        ([PartyInput("A", "a@example.com", role=Role.VIEWER)], "At least one party must sign."),
    ],
)
def test_bad_parties_are_refused_and_charge_nothing(
    funded: World, folder: Folder, parties: list[PartyInput], message: str
) -> None:
    doc = document(folder, funded.admin)
    with pytest.raises(ServiceError) as refusal:
        send(funded, doc, parties)
    assert refusal.value.message == message
    assert balance(funded) == 5 and not SigningRequest.objects.exists()


def test_a_deadline_in_the_past_is_refused(funded: World, folder: Folder) -> None:
    with pytest.raises(ServiceError, match="deadline must be in the future"):
        send(
            funded,
            document(folder, funded.admin),
            [PartyInput("A", "a@example.com")],
            deadline=timezone.now(),
        )
    assert balance(funded) == 5 and not SigningRequest.objects.exists()


def test_a_document_that_is_no_pdf_cannot_be_sent(funded: World, folder: Folder) -> None:
    doc = document(folder, funded.admin, "Avtal.pdf", b"PK\x03\x04 a renamed docx")
    with pytest.raises(ServiceError, match=r"Avtal\.pdf cannot be signed: This is not a PDF"):
        send(funded, doc, [PartyInput("A", "a@example.com")])
    assert balance(funded) == 5 and not SigningRequest.objects.exists()


def test_unassigned_staff_cannot_send(funded: World, folder: Folder) -> None:
    with pytest.raises(ServiceError):
        services.signing_send(
            collaboration=funded.collaboration,
            actor=funded.staff_unassigned,
            document=document(folder, funded.admin),
            parties=[PartyInput("A", "a@example.com")],
            deadline=timezone.now() + IN_A_WEEK,
        )
    assert balance(funded) == 5


# --- Expiry and reminders ---------------------------------------------------------------------------


def test_expiry_and_reminders_happen_once(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    request = send(
        funded,
        document(folder, funded.admin),
        [PartyInput("A", "a@example.com")],
        reminder_days=2,
        language="en",
    )
    mail.outbox.clear()
    later = timezone.now() + dt.timedelta(days=2, minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.signings_remind_due(now=later) == 1
        assert services.signings_remind_due(now=later) == 0
    assert [m.subject for m in mail.outbox] == ["Reminder: Avtal.pdf is waiting for your signature"]
    assert services.signings_expire_due(now=timezone.now() + IN_A_WEEK) == 1
    assert services.signings_expire_due(now=timezone.now() + IN_A_WEEK) == 0
    assert SigningRequest.objects.get(pk=request.pk).status == Status.EXPIRED


def test_emails_go_in_the_requests_language(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        send(funded, document(folder, funded.admin), [PartyInput("A", "a@example.com")], language="sv")
    invitation = next(m for m in mail.outbox if m.to == ["a@example.com"])
    assert invitation.subject == "Sam Staff ber dig signera Avtal.pdf"
    assert re.search(r"http://\S+/sign/[0-9a-f]{40,}/", str(invitation.body))
    assert "Länken fungerar till" in invitation.body


# --- Sealing ---------------------------------------------------------------------------------------


def test_the_last_signature_seals_once_beside_the_original_and_mails_everyone(
    funded: World, folder: Folder, seal_keys: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import hashlib

    from pypdf import PdfReader

    from signing import sealing, tasks

    settings.NOTIFICATION_BATCH_SECONDS = 0
    world = funded
    original = blank_pdf(3)
    doc = document(folder, world.admin, "Avtal.pdf", original)
    extra = document(folder, world.admin, "Bilaga.pdf", blank_pdf(1))
    parties = [
        PartyInput("Anna Ämnesson", "a@example.com", order=1),
        PartyInput("Bo Ek", "b@example.com", order=2),
        PartyInput("Vera Viewer", "v@example.com", role=Role.VIEWER, order=3),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        request = send(world, doc, parties, attachments=[extra])
    p = parties_of(request)
    with django_capture_on_commit_callbacks(execute=True):
        act(p["Anna Ämnesson"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        act(p["Bo Ek"])  # the last signer: completes, and the sealing task runs after commit
    request.refresh_from_db()
    assert request.status == Status.COMPLETED and request.sealed_version is not None
    sealed_doc = request.sealed_version.document
    assert sealed_doc.folder_id == folder.pk and sealed_doc.name == "Avtal (signed).pdf"
    with documents_storage().open(request.sealed_version.storage_key, "rb") as handle:
        data = handle.read()
    status = sealing.validate_sealed_pdf(data, ca_file=seal_keys)
    assert status.ok, status
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages[4:])
    for needle in ("Anna Ämnesson", "Bo Ek", "Vera Viewer", "10.0.0.9", hashlib.sha256(original).hexdigest()):
        assert needle in text
    assert "code_sent" not in text and "fick en engångskod" in text  # every history line in words
    # One byte changed inside the signed range breaks the seal.
    at = data.index(b"/MediaBox") + 2
    tampered = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    assert not sealing.validate_sealed_pdf(tampered, ca_file=seal_keys).ok
    # Every party, the viewer too, gets the sealed PDF.
    sealed_mails = [m for m in mail.outbox if m.attachments]
    assert sorted(m.to[0] for m in sealed_mails) == ["a@example.com", "b@example.com", "v@example.com"]
    # Sealing again (a retried task) stores nothing more and mails nobody twice.
    tasks.seal_signing.apply(args=(request.pk,), task_id="again")
    for message in OutboxMessage.objects.filter(task="signing.tasks.email_sealed"):
        run_outbox.apply(args=(message.pk,), task_id="again")
    assert Document.objects.filter(folder=folder, name="Avtal (signed).pdf").count() == 1
    assert len([m for m in mail.outbox if m.attachments]) == 3
    # It counts towards the partner's storage like any other file.
    assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes >= request.sealed_version.size


# --- Notifications -------------------------------------------------------------------------------


def test_portal_users_find_their_turn_in_the_inbox_and_the_firm_hears_of_a_decline(
    funded: World, folder: Folder, settings: Any
) -> None:
    from notifications.models import Event as Told
    from notifications.models import Notification

    settings.NOTIFICATION_BATCH_SECONDS = 0
    karin = funded.primary
    request = send(funded, document(folder, funded.admin), [PartyInput(karin.name, karin.email)])
    turn = Notification.objects.get(recipient=karin, event=Told.SIGNING_REQUESTED)
    assert turn.email_mode == "off" and turn.in_app  # the personal link is the email
    party = Party.objects.get(request=request)
    assert turn.url == f"/signings/mine/{party.pk}/"  # a page that needs login: no token stored
    services.party_start_method(party=party)
    services.party_act(party=party, action="decline", answer=code_for(karin.email), reason="Fel datum")
    assert Notification.objects.filter(
        recipient=funded.staff, event=Told.SIGNING_DECLINED
    ).exists()  # the sender
    attention = set(
        Notification.objects.filter(event=Told.SIGNING_ATTENTION).values_list("recipient_id", flat=True)
    )
    assert attention == {funded.admin.pk}  # the firm's other people on this customer, not the sender


def test_the_same_draft_sent_twice_sends_once(funded: World, folder: Folder) -> None:
    doc = document(folder, funded.admin)
    first = send(funded, doc, [PartyInput("A", "a@example.com")])
    again = services.draft_send(draft=first, actor=funded.staff)
    assert again.pk == first.pk and again.status == "pending"
    assert SigningRequest.objects.count() == 1 and balance(funded) == 4
