"""Backups on real PostgreSQL: `manage.py backup` in this process, `manage.py restore` in a
subprocess pointed (like production, through PORTAL_* variables) at a database created for the
test on the same server and an empty MEDIA_ROOT; then the restored database and files are read
back and compared with the original."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from billing import services as billing
from documents import services as documents
from documents import trash
from documents.models import CustomerAccess, DocumentVersion
from partners.models import PartnerRole
from signing import devkeys
from signing import services as signing
from signing.methods import method_for
from signing.models import Party, SigningRequest

# The S3 server of the documents tests (SeaweedFS on loopback), and its way of emptying the bucket.
from tests.documents.conftest import SeaweedFS, s3_storage, seaweedfs  # noqa: F401
from tests.documents.conftest import _empty_bucket as empty_bucket
from tests.factories import CollaborationFactory, PartnerMembershipFactory
from tests.integration import harness
from tests.pdfs import blank_pdf

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


# --- Helpers ----------------------------------------------------------------------------------------


def _admin_params(dbname: str) -> dict[str, Any]:
    db = connection.settings_dict
    params = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "dbname": dbname,
    }
    return {k: v for k, v in params.items() if v is not None}


def _database_url(dbname: str) -> str:
    base = harness.worker_database_url()
    return base.rsplit("/", 1)[0] + "/" + dbname


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database on the test's server, dropped afterwards."""
    name = f"test_backup_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**_admin_params("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(**_admin_params("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_manage(
    *args: str, database: str, media_root: Path, var_dir: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DEBUG": "true",
            "PORTAL_DATABASE_URL": _database_url(database),
            "PORTAL_DB_CONN_MAX_AGE": "0",
            "PORTAL_MEDIA_ROOT": str(media_root),
            "PORTAL_VAR_DIR": str(var_dir),
        }
    )
    if os.environ.get("PORTAL_REDIS_URL"):
        env["PORTAL_REDIS_URL"] = os.environ["PORTAL_REDIS_URL"]
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def table_counts(dbname: str) -> dict[str, int]:
    with psycopg.connect(**_admin_params(dbname)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # type: ignore[index]


def query(dbname: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(**_admin_params(dbname)) as db:
        return db.execute(sql).fetchall()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def take_backup(out: Path) -> Path:
    call_command("backup", "--output-dir", str(out), stdout=StringIO(), stderr=StringIO())
    (path,) = out.glob("portal-backup-*")
    return path


BALANCES = (
    "SELECT p.id, p.signature_balance, p.storage_used_bytes, "
    "(SELECT coalesce(sum(amount), 0) FROM billing_balanceentry e WHERE e.partner_id = p.id) "
    "FROM partners_partner p ORDER BY p.id"
)
LIVE_VERSIONS = (
    "SELECT storage_key, size, sha256 FROM documents_documentversion WHERE deleted_at IS NULL ORDER BY id"
)


def build_firms(*, firms: int, seal_folder: Path | None = None) -> dict[str, Any]:
    """Firms with customers, documents of several versions, signature ledgers and (with a sealing
    folder) one completed, sealed signing; all through the services."""
    made: dict[str, Any] = {"versions": [], "sealed": None}
    for n in range(firms):
        membership = PartnerMembershipFactory.create(partner__name=f"Byrå {n} AB", role=PartnerRole.ADMIN)
        admin, partner = membership.user, membership.partner
        billing.signature_grant(partner=partner, amount=5 + n, reason="test")
        for c in range(2):
            collaboration = CollaborationFactory.create(partner=partner)
            folder = documents.folder_create(
                collaboration=collaboration, actor=admin, name="Avtal", customer_access=CustomerAccess.READ
            )
            for d in range(2):
                for v in range(3):  # the same name again: a new version
                    version = documents.document_upload(
                        folder=folder,
                        actor=admin,
                        name=f"Dokument {d}.txt",
                        chunks=[f"firm {n} customer {c} document {d} version {v}\n".encode() * (v + 1)],
                        by_customer=False,
                    )
                    made["versions"].append(version)
        if n == 0:
            # One version deleted and purged from the trash: its file goes, and the backup must
            # not expect it.
            documents.version_delete(version=made["versions"][0], actor=admin)
            trash.trash_purge_due(now=timezone.now() + dt.timedelta(days=31))
            made["deleted_key"] = made["versions"][0].storage_key
            if seal_folder is not None:
                made["sealed"] = _sealed_signing(admin, collaboration, folder)
    return made


def _sealed_signing(admin: Any, collaboration: Any, folder: Any) -> SigningRequest:
    version = documents.document_upload(
        folder=folder, actor=admin, name="Avtal.pdf", chunks=[blank_pdf(2)], by_customer=False
    )
    request = signing.signing_send(
        collaboration=collaboration,
        actor=admin,
        document=version.document,
        parties=[signing.PartyInput("Kund", "kund@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
    )
    party = Party.objects.get(request=request)
    # Celery runs eagerly in the test process: sealing happens at the commit of the signature.
    signing.party_act(party=party, action="sign", answer=method_for(party).start(party), ip="127.0.0.1")
    request.refresh_from_db()
    assert request.sealed_version is not None, "the signing was not sealed"
    return request


@pytest.fixture
def seal_folder(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "seal"
    folder.mkdir()
    settings.SIGNING_SEAL_KEY_FILE = folder / "key.pem"
    settings.SIGNING_SEAL_CERT_FILE = folder / "cert.pem"
    settings.SIGNING_SEAL_CA_FILE = folder / "ca.pem"
    devkeys.ensure_dev_sealing_key()
    return folder


# --- Tests ------------------------------------------------------------------------------------------


def test_restore_into_a_fresh_database_gives_back_every_row_file_and_balance(
    seal_folder: Path, tmp_path: Path
) -> None:
    made = build_firms(firms=3, seal_folder=seal_folder)
    source = connection.settings_dict["NAME"]
    backup = take_backup(tmp_path / "backups")

    manifest = json.loads((backup / "manifest.json").read_text())
    keys = {f["key"] for f in manifest["files"]}
    sealed: SigningRequest = made["sealed"]
    assert sealed.sealed_version is not None
    assert sealed.sealed_version.storage_key in keys
    assert made["deleted_key"] not in keys
    assert manifest["problems"] == []
    assert "documents.0001_initial" in manifest["migrations"]
    assert manifest["database"]["vendor"] == "postgresql"

    call_command("verify_backup", str(backup), stdout=StringIO())
    # Checking a backup needs no database (on another machine, or with the server gone).
    elsewhere = run_manage(
        "verify_backup",
        str(backup),
        database="no_such_database",
        media_root=tmp_path / "x",
        var_dir=tmp_path / "v",
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stdout.splitlines()[-1] == "OK"

    media = tmp_path / "restored-media"
    with fresh_database() as target:
        result = run_manage(
            "restore", str(backup), database=target, media_root=media, var_dir=tmp_path / "var"
        )
        assert result.returncode == 0, result.stderr

        assert table_counts(target) == table_counts(source)
        assert query(target, BALANCES) == query(source, BALANCES)
        assert any(row[1] for row in query(target, BALANCES)), "no signature balance to compare"
        restored = query(target, LIVE_VERSIONS)
        assert restored == query(source, LIVE_VERSIONS)
        # 3 firms x 2 customers x 2 documents x 3 versions, less one deleted, plus the signed PDF
        # and its sealed copy.
        assert len(restored) == 3 * 2 * 2 * 3 - 1 + 2
        for key, size, sha256 in restored:
            data = (media / key).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256), key
        assert not (media / made["deleted_key"]).exists()
        assert (media / sealed.sealed_version.storage_key).read_bytes().startswith(b"%PDF")


def test_a_tampered_file_fails_verify_and_restore_and_restore_changes_nothing(tmp_path: Path) -> None:
    made = build_firms(firms=2)
    backup = take_backup(tmp_path / "backups")
    victim: DocumentVersion = made["versions"][5]
    tampered = backup / "files" / victim.storage_key
    tampered.write_bytes(tampered.read_bytes().replace(b"firm", b"FIRM", 1))

    with pytest.raises(CommandError, match=victim.storage_key):
        call_command("verify_backup", str(backup), stdout=StringIO())

    media = tmp_path / "restored-media"
    with fresh_database() as target:
        result = run_manage(
            "restore", str(backup), database=target, media_root=media, var_dir=tmp_path / "var"
        )
        assert result.returncode != 0
        assert victim.storage_key in result.stderr
        assert "does not match its manifest" in result.stderr
        assert table_counts(target) == {}
        assert files_under(media) == []


def test_a_tampered_database_dump_fails_verify(tmp_path: Path) -> None:
    build_firms(firms=1)
    backup = take_backup(tmp_path / "backups")
    dump = backup / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match=r"database\.dump"):
        call_command("verify_backup", str(backup), stdout=StringIO())


def test_restore_onto_a_database_with_tables_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    build_firms(firms=1)
    source = connection.settings_dict["NAME"]
    backup = take_backup(tmp_path / "backups")
    before = table_counts(source)
    media = tmp_path / "restored-media"

    result = run_manage("restore", str(backup), database=source, media_root=media, var_dir=tmp_path / "var")

    assert result.returncode != 0
    assert "refusing to restore over existing data" in result.stderr
    assert f"the database {source} has" in result.stderr
    assert table_counts(source) == before
    assert files_under(media) == []


def test_restore_into_non_empty_storage_is_refused(tmp_path: Path) -> None:
    build_firms(firms=1)
    backup = take_backup(tmp_path / "backups")
    media = tmp_path / "restored-media"
    (media / "documents").mkdir(parents=True)
    (media / "documents" / "left-over").write_bytes(b"someone else's file")
    with fresh_database() as target:
        result = run_manage(
            "restore", str(backup), database=target, media_root=media, var_dir=tmp_path / "var"
        )
        assert result.returncode != 0
        assert "is not empty" in result.stderr
        assert table_counts(target) == {}
    assert [p.name for p in files_under(media)] == ["left-over"]


def test_a_stored_file_that_differs_or_is_missing_is_reported_at_backup_time(tmp_path: Path) -> None:
    made = build_firms(firms=1)
    changed: DocumentVersion = made["versions"][3]
    gone: DocumentVersion = made["versions"][4]
    media = Path(settings.MEDIA_ROOT)
    (media / changed.storage_key).write_bytes(b"silently rotted")
    (media / gone.storage_key).unlink()
    out = tmp_path / "backups"

    with pytest.raises(CommandError, match="2 stored files are missing or differ"):
        call_command("backup", "--output-dir", str(out), stdout=StringIO(), stderr=StringIO())

    (backup,) = out.glob("portal-backup-*")
    problems = json.loads((backup / "manifest.json").read_text())["problems"]
    assert any(p.startswith(changed.storage_key) and changed.sha256 in p for p in problems), problems
    assert any(p.startswith(gone.storage_key) and "missing" in p for p in problems), problems
    # The backup itself is intact, but verify does not call it good.
    with pytest.raises(CommandError, match="recorded problems"):
        call_command("verify_backup", str(backup), stdout=StringIO())


def test_restore_refuses_a_backup_with_an_unsafe_key(tmp_path: Path) -> None:
    build_firms(firms=1)
    backup = take_backup(tmp_path / "backups")
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][0]["key"] = "../../outside"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="unsafe storage key"):
        call_command("verify_backup", str(backup), stdout=StringIO())
    shutil.rmtree(backup)


def test_a_backup_of_s3_storage_restores_into_an_empty_bucket_only(
    s3_storage: SeaweedFS,  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
) -> None:
    build_firms(firms=2)
    backup = take_backup(tmp_path / "backups")
    manifest = json.loads((backup / "manifest.json").read_text())
    assert {f["key"] for f in manifest["files"]} == s3_storage.keys()
    assert len(manifest["files"]) == 2 * 2 * 2 * 3 - 1
    s3_env = {
        "PORTAL_S3_BUCKET": s3_storage.bucket,
        "PORTAL_S3_ENDPOINT_URL": s3_storage.endpoint_url,
        "PORTAL_S3_ACCESS_KEY": s3_storage.access_key,
        "PORTAL_S3_SECRET_KEY": s3_storage.secret_key,
        "PORTAL_S3_REGION": s3_storage.region,
    }
    with fresh_database() as target:
        args = {"database": target, "media_root": tmp_path / "unused", "var_dir": tmp_path / "var"}
        refused = run_manage("restore", str(backup), **args, extra=s3_env)  # type: ignore[arg-type]
        assert refused.returncode != 0
        assert f"the storage ({s3_storage.bucket}) is not empty" in refused.stderr
        assert table_counts(target) == {}

        empty_bucket(s3_storage)
        result = run_manage("restore", str(backup), **args, extra=s3_env)  # type: ignore[arg-type]
        assert result.returncode == 0, result.stderr

        restored = query(target, LIVE_VERSIONS)
        assert s3_storage.keys() == {key for key, _size, _sha in restored}
        client = s3_storage.client()
        for key, size, sha256 in restored:
            data = client.get_object(Bucket=s3_storage.bucket, Key=key)["Body"].read()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256), key


SQLITE_DATA = """
from documents import services
from documents.models import CustomerAccess
from partners.models import PartnerRole
from tests.factories import CollaborationFactory, PartnerMembershipFactory
m = PartnerMembershipFactory.create(role=PartnerRole.ADMIN)
c = CollaborationFactory.create(partner=m.partner)
f = services.folder_create(collaboration=c, actor=m.user, name="Avtal", customer_access=CustomerAccess.READ)
for v in range(3):
    services.document_upload(folder=f, actor=m.user, name="Avtal.txt", chunks=[b"v%d" % v], by_customer=False)
"""


def _sqlite_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_DEBUG": "true", "PORTAL_VAR_DIR": str(var_dir)}
    )
    env["PORTAL_MEDIA_ROOT"] = str(var_dir / "media")
    return env


def _manage_sqlite(var_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=_sqlite_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_embedded_sqlite_default_backs_up_and_restores(tmp_path: Path) -> None:
    """Without PORTAL_DATABASE_URL: SQLite's online backup API, the same manifest and checks."""
    source, target = tmp_path / "source", tmp_path / "target"
    _manage_sqlite(source, "migrate", "-v0")
    _manage_sqlite(source, "shell", "-c", SQLITE_DATA)
    backup = Path(
        _manage_sqlite(source, "backup", "--output-dir", str(tmp_path / "backups")).splitlines()[-1]
    )
    assert (backup / "database.sqlite3").is_file()
    assert json.loads((backup / "manifest.json").read_text())["database"]["vendor"] == "sqlite"

    _manage_sqlite(target, "restore", str(backup))

    def rows(var_dir: Path) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(var_dir / "portal.sqlite3")) as db:
            return db.execute(LIVE_VERSIONS).fetchall()

    restored = rows(target)
    assert len(restored) == 3
    assert restored == rows(source)
    for key, size, sha256 in restored:
        data = (target / "media" / key).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256), key
