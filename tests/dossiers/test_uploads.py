"""Files are judged by their bytes: PDF, JPEG and PNG only, no programs, archives or polyglots."""

import hashlib
import io

import pytest
import sqlalchemy as sa
from PIL import Image

from portal.dossiers import service
from portal.dossiers.models import Attachment
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.uploads import display_name
from tests.dossiers.support import (
    exe_bytes,
    jpeg_bytes,
    make_draft,
    make_service,
    make_user,
    pdf_bytes,
    png_bytes,
    required_key,
    upload,
    zip_bytes,
)


@pytest.fixture
def draft(app):
    user = make_user()
    service_id, keys = make_service()
    return user, make_draft(user, service_id), required_key(keys)


def stored_files(upload_dir):
    return sorted(p for p in upload_dir.iterdir() if p.is_file())


@pytest.mark.parametrize(
    "data,name,content_type",
    [
        (pdf_bytes(), "to-khai.pdf", "application/pdf"),
        (png_bytes(), "anh-chup.png", "image/png"),
        (jpeg_bytes(), "anh-chup.jpg", "image/jpeg"),
    ],
)
def test_real_pdf_png_and_jpeg_files_are_stored_under_a_random_name_with_hash_and_size(
    draft, upload_dir, data, name, content_type
):
    user, draft_id, key = draft
    attachment = service.add_attachment(user, draft_id, key, upload(data, name, "application/octet-stream"))
    assert attachment["content_type"] == content_type
    assert attachment["size"] == len(data)
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    assert attachment["name"] == name
    row = db.session.get(Attachment, attachment["id"])
    assert row.stored_name != name and len(row.stored_name) == 32
    assert stored_files(upload_dir) == [upload_dir / row.stored_name]
    assert (upload_dir / row.stored_name).read_bytes() == data
    path, download_name, served_type = service.open_attachment(user, attachment["id"])
    assert path.read_bytes() == data and download_name == name and served_type == content_type


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    png = png_bytes()
    chunk = (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


def jpeg_with_comment(text: bytes) -> bytes:
    import struct

    jpeg = jpeg_bytes()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


REFUSED = {
    "an executable renamed .pdf": (exe_bytes(), "hoa-don.pdf", "UnsafeFile"),
    "an ELF program renamed .png": (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "anh.png", "UnsafeFile"),
    "a shell script renamed .jpg": (b"#!/bin/sh\nrm -rf /\n", "anh.jpg", "UnsafeFile"),
    "a ZIP archive renamed .pdf": (zip_bytes(), "to-khai.pdf", "UnsafeFile"),
    "a PNG with a JAR appended": (png_bytes() + zip_bytes(), "anh.png", "UnsafeFile"),
    "a PNG with a ZIP directory inside a chunk": (
        png_with_chunk(b"zzIP", zip_bytes()),
        "anh.png",
        "UnsafeFile",
    ),
    "a PNG with a program after IEND": (png_bytes() + exe_bytes(), "anh.png", "UnsafeFile"),
    "a JPEG with a script appended": (
        jpeg_bytes() + b"<script>alert(document.cookie)</script>",
        "anh.jpg",
        "UnsafeFile",
    ),
    "a JPEG with HTML in a comment": (
        jpeg_with_comment(b"<HTML><body onload=alert(1)>"),
        "anh.jpg",
        "UnsafeFile",
    ),
    "a PDF with HTML after %%EOF": (
        pdf_bytes() + b"<html><script>alert(1)</script></html>",
        "a.pdf",
        "UnsafeFile",
    ),
    "a PDF with a ZIP after %%EOF": (pdf_bytes() + zip_bytes(), "a.pdf", "UnsafeFile"),
    "a PDF that starts with HTML": (
        pdf_bytes().replace(b"%PDF-1.4\n", b"%PDF-1.4\n<html>", 1),
        "a.pdf",
        "UnsafeFile",
    ),
    "a zero-byte file": (b"", "trong.pdf", "EmptyFile"),
    "a text file": ("Đơn đề nghị".encode(), "don.pdf", "UnsupportedFileType"),
    "an HTML page renamed .png": (
        b"<html><script>alert(1)</script></html>",
        "anh.png",
        "UnsupportedFileType",
    ),
    "a truncated PNG": (png_bytes()[:-20], "anh.png", "DamagedFile"),
    "a PNG with a bad checksum": (
        png_bytes()[:30] + b"\x00\x00\x00\x00" + png_bytes()[34:],
        "anh.png",
        "DamagedFile",
    ),
    "a JPEG without its end marker": (jpeg_bytes()[:-2], "anh.jpg", "DamagedFile"),
    "a PDF without %%EOF": (pdf_bytes()[:-7], "a.pdf", "DamagedFile"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_files_that_are_not_plain_documents_are_refused_and_nothing_is_kept(draft, upload_dir, case):
    data, name, token = REFUSED[case]
    user, draft_id, key = draft
    with pytest.raises(ValidationFailed) as error:
        service.add_attachment(user, draft_id, key, upload(data, name))
    assert error.value.token == token
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert stored_files(upload_dir) == []


def test_a_file_over_the_per_file_limit_is_refused_before_it_is_stored(draft, upload_dir, monkeypatch, app):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_FILE_BYTES", 2048)
    user, draft_id, key = draft
    big = io.BytesIO()
    Image.effect_noise((64, 64), 80).save(big, "PNG")
    assert len(big.getvalue()) > 2048
    with pytest.raises(ValidationFailed) as error:
        service.add_attachment(user, draft_id, key, upload(big.getvalue(), "anh.png"))
    assert error.value.token == "FileTooLarge"
    assert stored_files(upload_dir) == []


def test_files_over_the_per_dossier_limit_together_are_refused(draft, upload_dir, monkeypatch, app):
    user, draft_id, key = draft
    pdf = pdf_bytes()
    monkeypatch.setitem(app.config, "UPLOAD_MAX_DOSSIER_BYTES", len(pdf) * 2)
    service.add_attachment(user, draft_id, key, upload(pdf))
    service.add_attachment(user, draft_id, key, upload(pdf))
    with pytest.raises(ValidationFailed) as error:
        service.add_attachment(user, draft_id, key, upload(pdf))
    assert error.value.token == "DossierTooLarge"
    assert len(stored_files(upload_dir)) == 2


def test_a_document_key_the_procedure_does_not_have_or_a_note_is_refused(app, upload_dir):
    user = make_user()
    service_id, keys = make_service()
    draft_id = make_draft(user, service_id)
    note_key = keys["Trường hợp thông tin đã có trong Cơ sở dữ liệu hộ tịch thì không phải tải lên"]
    for key in ("../../etc", "0123456789ab", note_key):
        with pytest.raises(ValidationFailed) as error:
            service.add_attachment(user, draft_id, key, upload(pdf_bytes()))
        assert error.value.token == "UnknownDocument"
    assert stored_files(upload_dir) == []


def test_a_path_in_the_file_name_is_dropped_and_the_file_stays_in_the_upload_folder(draft, upload_dir):
    user, draft_id, key = draft
    attachment = service.add_attachment(user, draft_id, key, upload(pdf_bytes(), "../../etc/passwd.pdf"))
    assert attachment["name"] == "passwd.pdf"
    assert [p.parent for p in stored_files(upload_dir)] == [upload_dir]
    assert not (upload_dir.parent / "etc").exists()


@pytest.mark.parametrize(
    "unsafe,content_type,expected",
    [
        ("..\\..\\Windows\\system32\\giấy khai sinh.pdf", "application/pdf", "giấy khai sinh.pdf"),
        ("Giấy\x00 chứng\x1b nhận\u202egpj.pdf", "application/pdf", "Giấy chứng nhậngpj.pdf"),
        ("Ảnh CCCD mặt trước.JPEG", "image/jpeg", "Ảnh CCCD mặt trước.jpeg"),
        ("hoa-don.exe", "application/pdf", "hoa-don.exe.pdf"),
        ("....", "image/png", "tai-lieu.png"),
        ("", "image/png", "tai-lieu.png"),
        ("a" * 500 + ".pdf", "application/pdf", "a" * 116 + ".pdf"),
        ('<img src=x onerror="x">.png', "image/png", "img src=x onerror=x.png"),
    ],
)
def test_file_names_are_cleaned_for_display_and_keep_vietnamese_letters(app, unsafe, content_type, expected):
    assert display_name(unsafe, content_type) == expected


def test_a_failed_transaction_leaves_no_file_behind(draft, upload_dir):
    user, draft_id, key = draft

    def refuse(mapper, connection, target):
        raise RuntimeError("the database went away")

    sa.event.listen(Attachment, "before_insert", refuse)
    try:
        with pytest.raises(RuntimeError):
            service.add_attachment(user, draft_id, key, upload(png_bytes(), "anh.png"))
    finally:
        sa.event.remove(Attachment, "before_insert", refuse)
    assert stored_files(upload_dir) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_removing_a_file_of_a_draft_deletes_the_file_too(draft, upload_dir):
    user, draft_id, key = draft
    attachment = service.add_attachment(user, draft_id, key, upload(pdf_bytes()))
    service.remove_attachment(user, attachment["id"])
    assert stored_files(upload_dir) == []
    with pytest.raises(NotFound):
        service.open_attachment(user, attachment["id"])


def test_discarding_a_draft_deletes_its_files(draft, upload_dir):
    user, draft_id, key = draft
    service.add_attachment(user, draft_id, key, upload(pdf_bytes()))
    service.discard_draft(user, draft_id)
    assert stored_files(upload_dir) == []


def test_files_of_a_submitted_dossier_can_be_neither_added_nor_removed(draft, jobs):
    user, draft_id, key = draft
    attachment = service.add_attachment(user, draft_id, key, upload(pdf_bytes()))
    service.submit(user, draft_id)
    with pytest.raises(Conflict):
        service.add_attachment(user, draft_id, key, upload(pdf_bytes()))
    with pytest.raises(Conflict):
        service.remove_attachment(user, attachment["id"])
    path, _, _ = service.open_attachment(user, attachment["id"])
    assert path.exists()


def test_another_citizen_cannot_open_a_file_and_learns_nothing(draft):
    user, draft_id, key = draft
    attachment = service.add_attachment(user, draft_id, key, upload(pdf_bytes()))
    stranger = make_user(full_name="Kẻ Lạ", email="la@example.vn", phone="0987654321")
    with pytest.raises(NotFound) as stranger_error:
        service.open_attachment(stranger, attachment["id"])
    with pytest.raises(NotFound) as missing_error:
        service.open_attachment(stranger, attachment["id"] + 1000)
    assert stranger_error.value.message == missing_error.value.message
