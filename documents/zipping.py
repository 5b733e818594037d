"""Bulk download: the chosen documents as one zip, streamed as it is built (zipstream-ng).

Memory stays flat however many or large the files. Files are stored, not recompressed: PDFs and
images are compressed already."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from zipstream import ZIP_STORED, ZipStream

from documents.models import Document, DocumentVersion
from documents.storage import CHUNK, document_storage


def _file_chunks(key: str) -> Iterator[bytes]:
    storage = document_storage()
    if isinstance(storage, S3Storage):
        # storage.open() would download the whole object first (into memory, by default):
        # stream the object's body instead.
        body = storage.bucket.Object(storage._normalize_name(key)).get()["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with storage.open(key, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def zip_response(*, documents: Sequence[Document], filename: str) -> StreamingHttpResponse:
    """`documents` with their current_version loaded; each goes in under its own name."""
    return zip_entries_response(
        entries=[(d.current_version, d.name) for d in documents if d.current_version is not None],
        filename=filename,
    )


def zip_entries_response(
    *, entries: Iterable[tuple[DocumentVersion, str]], filename: str
) -> StreamingHttpResponse:
    """Each (version, arcname) pair as one file in the zip: an arcname with slashes puts it in
    directories ("Bokslut 2025/Underlag/kvitto.pdf"). Each file is read from storage only as the
    zip streams past it, so memory stays flat however many or large the files."""
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for version, arcname in entries:
        stream.add(_file_chunks(version.storage_key), arcname=arcname, size=version.size)
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Length"] = str(len(stream))
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["Cache-Control"] = "private, no-store"
    return response
