"""Backups of the portal: the database and every stored file the database points to, in one directory.

A backup is a directory, not a tar file: files are copied, hashed and later verified one at a time
without unpacking anything, a restore reads only what it needs, and rsync or `tar` can ship it
elsewhere as it is. It is written into a `<name>.*.partial` directory and renamed when complete, so a backup
that crashed half-way never looks like a finished one.

    portal-backup-20261203T040500Z/
        manifest.json        time, app version, migration state, every file's key, size and sha256
        database.dump        pg_dump --format=custom (PostgreSQL), or
        database.sqlite3     a copy made with SQLite's online backup API (the embedded default)
        files/<storage key>  every stored file, read through the default storage (filesystem or S3)

Consistency: the list of files comes from the same database snapshot as the dump. On PostgreSQL
a REPEATABLE READ transaction exports its snapshot (pg_export_snapshot), `pg_dump --snapshot`
dumps exactly that snapshot, and the file list is read in the same transaction while it is still
open. On SQLite the file list is read from the copy itself. A file uploaded after the snapshot is
in neither the dump nor the manifest; a file deleted after the snapshot but before it was copied
is reported as missing (the backup then fails and should be taken again).

Which files the database points to: what the apps that store files register with
`register_stored_files` (portal knows no feature app). Documents registers every live
DocumentVersion's `storage_key` (uploads and the sealed PDFs of completed signings, which are
document versions too) and its `preview_key` (documents/backup.py). Deleted versions have their
files removed at commit, so they are not expected in storage. No other model stores a file key
(billing, notifications, customers and partners keep rows only).

Not included: Redis (cache, Celery queue and throttling counters, rebuilt by themselves), the
sealing key files and the settings (environment): keep those with the deployment's secrets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import connections
from django.db.migrations.loader import MigrationLoader

logger = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
FILES = "files"
CHUNK = 1024 * 1024

Say = Callable[[str], None]


class BackupError(Exception):
    """The backup, verification or restore cannot go on; the message says why and what to do."""


@dataclass
class FileEntry:
    key: str
    size: int
    sha256: str


@dataclass
class Snapshot:
    """What the backup reads from the database snapshot: the stored files and the migrations."""

    files: list[tuple[str, int | None, str]]  # key, expected size, expected sha256
    migrations: list[str]  # "app.name", sorted


@dataclass
class BackupResult:
    path: Path
    files: int
    bytes: int
    problems: list[str] = field(default_factory=list)


# --- Shared helpers -------------------------------------------------------------------------------


def default_storage() -> Storage:
    # Looked up on each use, like documents.storage, so overridden STORAGES take effect.
    return storages["default"]


def safe_key(key: str) -> str:
    """A storage key as a relative path inside the backup; refuses anything that could leave it."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key or "\x00" in key:
        raise BackupError(f"unsafe storage key in the backup: {key!r}")
    return str(path)


def sha256_of(handle: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _sha256_file(path: Path) -> tuple[int, str]:
    with path.open("rb") as handle:
        return sha256_of(handle)


def app_version() -> str:
    """The version in pyproject.toml (the Docker image copies it), without asking git."""
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def code_migrations() -> set[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


def _vendor() -> str:
    vendor = connections["default"].vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


# reader(cursor) -> [(storage key, expected size or None, expected sha256 or "")]: the files one app's
# rows point to, read with the DB-API cursor on the backup's snapshot (PostgreSQL, or the SQLite
# copy). Each app that stores files registers one in its AppConfig.ready().
StoredFilesReader = Callable[[Any], list[tuple[str, int | None, str]]]
_stored_files_readers: list[StoredFilesReader] = []


def register_stored_files(reader: StoredFilesReader) -> None:
    if reader not in _stored_files_readers:
        _stored_files_readers.append(reader)


def _snapshot_queries(cursor: Any) -> Snapshot:
    """Read the stored files and applied migrations with a DB-API cursor on the snapshot."""
    files = [file for reader in _stored_files_readers for file in reader(cursor)]
    cursor.execute("SELECT app, name FROM django_migrations")
    migrations = sorted(f"{app}.{name}" for app, name in cursor.fetchall())
    return Snapshot(files=files, migrations=migrations)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for pg_dump/pg_restore: the password never appears on a command line."""
    env = dict(os.environ)
    values = {
        "PGHOST": db.get("HOST") or "",
        "PGPORT": str(db.get("PORT") or ""),
        "PGUSER": db.get("USER") or "",
        "PGPASSWORD": db.get("PASSWORD") or "",
        "PGDATABASE": db.get("NAME") or "",
        "PGSSLMODE": (db.get("OPTIONS") or {}).get("sslmode", ""),
    }
    env.update({k: v for k, v in values.items() if v})
    return env


def _pg_server_major() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def pg_tool(name: str, major: int, *, or_newer: bool = False) -> str:
    """pg_dump/pg_restore of PostgreSQL `major` (Debian's layout first, then PATH); with
    `or_newer`, a newer one will do.

    An older pg_dump refuses a newer server, a newer pg_dump writes archives an older pg_restore
    cannot read, and a newer pg_restore may write SQL an older server does not know: dumping and
    restoring want the server's own major version. Reading an archive (`--list`) only needs a
    pg_restore at least as new as the pg_dump that wrote it."""
    candidates = [f"/usr/lib/postgresql/{major}/bin/{name}"]
    if or_newer:
        installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
        candidates += [str(path) for path in installed]
    candidates.append(shutil.which(name) or "")
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        out = subprocess.run(  # noqa: S603 -- a fixed path or PATH lookup, no user input
            [candidate, "--version"], capture_output=True, text=True, check=False
        ).stdout
        # "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
        try:
            found = int(out.split(")")[1].split()[0].split(".")[0])
        except (IndexError, ValueError):
            continue
        if found == major or (or_newer and found > major):
            return candidate
    raise BackupError(
        f"no {name} for PostgreSQL {major} found (looked in /usr/lib/postgresql/{major}/bin "
        f"and PATH); install the PostgreSQL {major} client tools"
    )


def _run(command: Sequence[str], *, env: dict[str, str], what: str) -> str:
    result = subprocess.run(  # noqa: S603 -- the PostgreSQL tools with arguments built here
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def _pg_dump(target: Path, server_major: int) -> Snapshot:
    connection = connections["default"]
    db = connection.settings_dict
    tool = pg_tool("pg_dump", server_major)
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]
            # The exporting transaction stays open until pg_dump is done (it must, for pg_dump to
            # import the snapshot) and the file list is read in it: both see the same data.
            _run(
                [tool, "--format=custom", f"--snapshot={snapshot_id}", f"--file={target}"],
                env=_pg_env(db),
                what="pg_dump",
            )
            contents = _snapshot_queries(cursor)
            cursor.execute("COMMIT")
    finally:
        raw.close()
    return contents


def _pg_dump_readable(dump: Path, dumped_by: int) -> int:
    """pg_restore --list of the archive; the number of entries in its table of contents.
    Needs no database: a backup can be checked on any machine with the client tools."""
    tool = pg_tool("pg_restore", dumped_by, or_newer=True)
    listing = _run([tool, "--list", str(dump)], env=dict(os.environ), what="pg_restore --list")
    return sum(1 for line in listing.splitlines() if line and not line.startswith(";"))


def _pg_restore(dump: Path, dumped_by: int) -> None:
    db = connections["default"].settings_dict
    server_major = _pg_server_major()
    if dumped_by > server_major:
        raise BackupError(
            f"the backup was dumped from PostgreSQL {dumped_by}; it cannot be restored into the "
            f"older PostgreSQL {server_major}"
        )
    tool = pg_tool("pg_restore", server_major)
    connections["default"].close()
    # One transaction: a failure leaves the target database as empty as it was.
    _run(
        [
            tool,
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={db['NAME']}",
            str(dump),
        ],
        env=_pg_env(db),
        what="pg_restore",
    )


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_copy(target: Path) -> Snapshot:
    connection = connections["default"]
    connection.ensure_connection()
    with sqlite3.connect(target) as copy:
        # The online backup API copies a consistent state even while the portal writes.
        connection.connection.backup(copy)
        contents = _snapshot_queries(copy.cursor())
    copy.close()
    return contents


def _sqlite_readable(copy: Path) -> int:
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as db:
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    db.close()
    if result != "ok":
        raise BackupError(f"the SQLite copy is damaged: {result}")
    return int(tables)


def _sqlite_restore(copy: Path) -> None:
    connection = connections["default"]
    connection.ensure_connection()
    with sqlite3.connect(f"file:{copy}?mode=ro", uri=True) as source:
        source.backup(connection.connection)
    source.close()


# --- Backup ---------------------------------------------------------------------------------------


def backup_create(*, output_dir: Path, say: Say = logger.info) -> BackupResult:
    """Write a complete backup directory under `output_dir` and return it.

    Problems found while copying (a file missing from storage, or whose size or sha256 differs
    from what the database recorded) are written into the manifest and returned; the caller
    reports them. The copy of a file is always what storage holds now."""
    vendor = _vendor()
    stamp = dt.datetime.now(dt.UTC)
    name = f"portal-backup-{stamp:%Y%m%dT%H%M%SZ}"
    final = output_dir / name
    if final.exists():
        raise BackupError(f"{final} exists already")
    output_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}.", suffix=".partial", dir=output_dir))
    try:
        database_file = PG_DUMP if vendor == "postgresql" else SQLITE_COPY
        say(f"Dumping the database ({vendor}) ...")
        database: dict[str, Any] = {"vendor": vendor, "file": database_file}
        if vendor == "postgresql":
            database["server_major"] = _pg_server_major()
            snapshot = _pg_dump(work / database_file, database["server_major"])
        else:
            snapshot = _sqlite_copy(work / database_file)
        db_size, db_sha = _sha256_file(work / database_file)
        say(f"Copying {len(snapshot.files)} stored files ...")
        entries, problems = _copy_files(snapshot.files, work / FILES)
        manifest = {
            "format": FORMAT,
            "created_at": stamp.isoformat(),
            "app_version": app_version(),
            "database": database | {"size": db_size, "sha256": db_sha},
            "migrations": snapshot.migrations,
            "storage": type(default_storage()).__name__,
            "files": [{"key": e.key, "size": e.size, "sha256": e.sha256} for e in entries],
            "problems": problems,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(path=final, files=len(entries), bytes=sum(e.size for e in entries), problems=problems)


def _copy_files(files: list[tuple[str, int | None, str]], target: Path) -> tuple[list[FileEntry], list[str]]:
    storage = default_storage()
    entries: list[FileEntry] = []
    problems: list[str] = []
    for key, expected_size, expected_sha in files:
        path = target / safe_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        try:
            with storage.open(key, "rb") as source, path.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            # Deleted after the snapshot was taken, or lost: the restored row would have no file.
            path.unlink(missing_ok=True)
            problems.append(f"{key}: missing from storage")
            continue
        entry = FileEntry(key=key, size=size, sha256=digest.hexdigest())
        if expected_sha and entry.sha256 != expected_sha:
            problems.append(f"{key}: sha256 {entry.sha256} differs from the database's {expected_sha}")
        elif expected_size is not None and size != expected_size:
            problems.append(f"{key}: {size} bytes, the database says {expected_size}")
        entries.append(entry)
    return entries, problems


# --- Verify ---------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    files: int
    database_entries: int
    problems: list[str]  # recorded at backup time, not failures of the backup's own integrity


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{path} is not a backup: it has no {MANIFEST} (an interrupted backup?)") from None
    except json.JSONDecodeError as error:
        raise BackupError(f"{path / MANIFEST} is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this code reads {FORMAT})")
    return manifest


def _entries(manifest: dict[str, Any]) -> Iterator[tuple[str, int, str]]:
    for item in manifest["files"]:
        yield safe_key(item["key"]), int(item["size"]), str(item["sha256"])


def backup_verify(path: Path, *, say: Say = logger.info) -> VerifyResult:
    """Check every file of the backup against its manifest and that the database copy is readable.

    Raises BackupError naming every file that is missing or differs; changes nothing anywhere."""
    manifest = read_manifest(path)
    failures: list[str] = []
    database = manifest["database"]
    db_path = path / safe_key(database["file"])
    if not db_path.is_file():
        raise BackupError(f"the database copy {database['file']} is missing from the backup")
    if _sha256_file(db_path) != (database["size"], database["sha256"]):
        failures.append(f"{database['file']}: differs from the manifest (size or sha256)")
    listed = set()
    count = 0
    for key, size, sha in _entries(manifest):
        listed.add(key)
        file_path = path / FILES / key
        if not file_path.is_file():
            failures.append(f"{key}: missing from the backup")
            continue
        actual_size, actual_sha = _sha256_file(file_path)
        if (actual_size, actual_sha) != (size, sha):
            failures.append(f"{key}: differs from the manifest (sha256 {actual_sha}, expected {sha})")
        count += 1
    if failures:
        raise BackupError("the backup does not match its manifest:\n  " + "\n  ".join(failures))
    if database["vendor"] == "postgresql":
        entries = _pg_dump_readable(db_path, int(database["server_major"]))
    else:
        entries = _sqlite_readable(db_path)
    say(f"{count} files and the database copy ({entries} entries) match the manifest.")
    return VerifyResult(files=count, database_entries=entries, problems=list(manifest.get("problems", [])))


# --- Restore --------------------------------------------------------------------------------------


def target_emptiness_problems() -> list[str]:
    """Why the target database or storage is not empty (nothing: both are)."""
    reasons = []
    tables = connections["default"].introspection.table_names()
    if tables:
        reasons.append(
            f"the database {connections['default'].settings_dict['NAME']} has {len(tables)} tables"
        )
    storage = default_storage()
    if _storage_has_files(storage, ""):
        where = getattr(storage, "location", None) or getattr(storage, "bucket_name", "storage")
        reasons.append(f"the storage ({where}) is not empty")
    return reasons


def _storage_has_files(storage: Storage, path: str) -> bool:
    """Any file at all, however deep; empty folders do not count (an S3 server such as SeaweedFS
    may keep listing a prefix whose objects are gone)."""
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:
        return False
    if files:
        return True
    return any(_storage_has_files(storage, f"{path}{name}/") for name in directories)


def _restore_files(path: Path, manifest: dict[str, Any]) -> None:
    """Write every file of the backup through the storage, then re-read and re-hash each one."""
    storage = default_storage()
    for key, _size, _sha in _entries(manifest):
        with (path / FILES / key).open("rb") as handle:
            saved = storage.save(key, File(handle, name=key))
        if saved != key:
            raise BackupError(f"{key}: the storage saved it as {saved}; is the storage really empty?")
    failures = []
    for key, size, sha in _entries(manifest):
        with storage.open(key, "rb") as handle:
            if sha256_of(handle) != (size, sha):
                failures.append(key)
    if failures:
        raise BackupError("restored files differ from the manifest: " + ", ".join(failures))


def backup_restore(path: Path, *, say: Say = logger.info) -> VerifyResult:
    """Restore the backup at `path` into an empty database and empty storage, then re-hash every
    restored file against the manifest.

    Nothing is written before the backup has been verified and the targets found empty. The
    database is restored in one transaction; files are written after it."""
    manifest = read_manifest(path)
    say("Verifying the backup ...")
    result = backup_verify(path, say=say)
    database = manifest["database"]
    vendor = _vendor()
    if database["vendor"] != vendor:
        raise BackupError(f"the backup holds a {database['vendor']} database; this portal uses {vendor}")
    unknown = sorted(set(manifest["migrations"]) - code_migrations())
    if unknown:
        raise BackupError(
            "the backup's database has migrations this code does not know (it is newer than the code): "
            + ", ".join(unknown[:10])
        )
    reasons = target_emptiness_problems()
    if reasons:
        raise BackupError(
            "refusing to restore over existing data: "
            + "; ".join(reasons)
            + ". Restore into a newly created, empty database and empty storage."
        )
    db_path = path / safe_key(database["file"])
    say("Restoring the database ...")
    if vendor == "postgresql":
        _pg_restore(db_path, int(database["server_major"]))
    else:
        _sqlite_restore(db_path)
    say(f"Restoring {result.files} files ...")
    try:
        _restore_files(path, manifest)
    except Exception as error:  # any storage failure (OSError, botocore's errors): re-raised with advice
        raise BackupError(
            f"{error}\nThe database is restored but the files are not complete: drop and recreate "
            "the database, empty the storage, and run restore again."
        ) from error
    pending = sorted(code_migrations() - set(manifest["migrations"]))
    if pending:
        say(f"The code has {len(pending)} migrations the backup does not: run `manage.py migrate` next.")
    return result
