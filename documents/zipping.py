"""Bulk download: the chosen documents as one zip, streamed as it is built (zipstream-ng), so
memory stays flat however many or large the files. Files are stored, not recompressed: PDFs and
images are compressed already."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from zipstream import ZIP_STORED, ZipStream

from documents.models import Document
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
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for document in documents:
        version = document.current_version
        if version is None:
            continue
        stream.add(_file_chunks(version.storage_key), arcname=document.name, size=version.size)
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Length"] = str(len(stream))
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["Cache-Control"] = "private, no-store"
    return response
