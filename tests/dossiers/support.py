"""Test data for dossiers: real catalog records through the real importer, real file bytes.

Keyword-only builders; catalog data goes through ``services_catalog.importer`` and dossiers
through ``portal.dossiers.service``, so what the tests use is valid by construction.
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import contextmanager
from datetime import UTC, datetime

import flask_babel
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from portal.accounts.models import IdentityLink, User
from portal.db import transactional
from portal.dossiers import service
from portal.dossiers.models import Dossier
from portal.extensions import db
from services_catalog.generate import AGENCIES_FILE
from services_catalog.importer import import_records
from services_catalog.models import OnlineService, Procedure

AGENCY = "000.00.00.G15"
FORM = {
    "applicant_name": "Trần Thị Bình",
    "applicant_birth_date": "1990-05-17",
    "applicant_id_number": "038190000001",
    "applicant_phone": "0912345678",
    "applicant_email": "binh@example.vn",
    "applicant_address": {"province": "01", "commune": "Phường Ba Đình", "street": "12 Phố Điện Biên Phủ"},
    "request_details": "Xin cấp bản sao trích lục hộ tịch cho con.",
}


# ---------------------------------------------------------------------------- people


def make_user(
    *,
    full_name: str = "Trần Thị Bình",
    email: str | None = "binh@example.vn",
    phone: str | None = "0912345678",
    id_number: str | None = None,
    verified_id: bool = False,
    locale: str = "vi",
) -> User:
    user = User(
        full_name=full_name, email=email, phone=phone, id_number=id_number, locale=locale, password_hash=None
    )
    db.session.add(user)
    db.session.flush()
    if verified_id:
        db.session.add(IdentityLink(user_id=user.id, issuer="https://vneid.example", subject=f"s-{user.id}"))
    db.session.commit()
    return user


# --------------------------------------------------------------------------- catalog


def procedure_record(
    *, code: str, name: str, processing_days: int, documents: list[tuple[str, int, int]]
) -> dict:
    """A procedure in the national database's shape, offered online by the Ministry of Justice.

    ``documents``: (name, originals, copies); "(nếu có)" in a name makes it optional and
    0 + 0 copies makes it a note.
    """
    return {
        "MATTHC": code,
        "TENTTHC": name,
        "MACOQUANCONGBO": "G15",
        "TENCOQUANCONGBO": "Bộ Tư pháp",
        "CAPTHUCHIEN": [{"CAPTHUCHIEN": "0", "TENCAP": "Cấp Bộ"}],
        "LINHVUCTHUCHIEN": [{"MALINHVUC": "G15-HT", "TENLINHVUC": "Hộ tịch"}],
        "CACHTHUCTHUCHIEN": [
            {
                "KENH": "2",
                "TENKENH": "Trực tuyến",
                "THOIGIAN": [
                    {
                        "THOIGIANGIAIQUYET": processing_days,
                        "DONVITINH": "Ngày làm việc",
                        "MOTA": "",
                        "PHILEPHI": [],
                    }
                ],
            }
        ],
        "THANHPHANHOSO": [
            {
                "TRUONGHOP": "",
                "GIAYTO": [
                    {"TENGIAYTO": doc_name, "SOBANCHINH": originals, "SOBANSAO": copies}
                    for doc_name, originals, copies in documents
                ],
            }
        ],
    }


DEFAULT_DOCUMENTS = [
    ("Tờ khai đề nghị cấp bản sao trích lục hộ tịch", 1, 0),
    ("Văn bản ủy quyền (nếu có)", 0, 1),
    ("Trường hợp thông tin đã có trong Cơ sở dữ liệu hộ tịch thì không phải tải lên", 0, 0),
]


def make_service(
    *,
    code: str = "9.000001",
    name: str = "Cấp bản sao trích lục hộ tịch",
    processing_days: int = 5,
    documents: list | None = None,
) -> tuple[int, dict[str, str]]:
    """Import a procedure and return (its online service id, {document name: key})."""
    record = procedure_record(
        code=code,
        name=name,
        processing_days=processing_days,
        documents=DEFAULT_DOCUMENTS if documents is None else documents,
    )
    import_records([record], full=False, agencies=json.loads(AGENCIES_FILE.read_text(encoding="utf-8")))
    db.session.commit()
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    online = db.session.scalar(sa.select(OnlineService).where(OnlineService.procedure_id == procedure.id))
    return online.id, {d["name"]: d["key"] for d in procedure.documents}


def required_key(keys: dict[str, str]) -> str:
    return keys[DEFAULT_DOCUMENTS[0][0]]


# ------------------------------------------------------------------------------ files


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A minimal valid one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Evil\n")
    return out.getvalue()


def exe_bytes() -> bytes:
    """The start of a Windows program: MZ header, DOS stub, PE signature."""
    header = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    header[0x3C:0x40] = (0x80).to_bytes(4, "little")
    stub = b"This program cannot be run in DOS mode.\r\r\n$"
    return bytes(header.ljust(0x40, b"\x00")) + stub.ljust(0x40, b"\x00") + b"PE\x00\x00" + b"\x00" * 200


def upload(data: bytes, name: str = "giay-to.pdf", content_type: str = "application/pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


# ---------------------------------------------------------------------------- dossiers


def make_draft(
    user: User, service_id: int, *, form: dict | None = None, files: dict[str, bytes] | None = None
) -> int:
    draft_id = service.create_draft(user, service_id)
    service.save_draft(user, draft_id, FORM if form is None else form)
    for key, data in (files or {}).items():
        service.add_attachment(user, draft_id, key, upload(data))
    return draft_id


def make_filed(user: User, service_id: int, keys: dict[str, str], **kwargs) -> dict:
    """A filed dossier (needs the ``jobs`` fixture: filing e-mails a receipt)."""
    draft_id = make_draft(user, service_id, files={required_key(keys): pdf_bytes()}, **kwargs)
    return service.submit(user, draft_id)


@transactional
def partner_event(dossier_id: int, status: int, occurred_at: datetime, **kwargs):
    """What the partner-sync endpoint will do with an event: apply it in its own transaction."""
    dossier = db.session.get(Dossier, dossier_id)
    event = service.apply_status(dossier, status, occurred_at=occurred_at, source="partner:G15", **kwargs)
    return event.result


def reload(dossier_id: int) -> Dossier:
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


@contextmanager
def language(app, lang: str):
    """A request in ``lang`` (Flask-Babel caches the locale on the app context the tests share)."""
    with app.test_request_context(f"/?lang={lang}"):
        flask_babel.refresh()
        yield
    flask_babel.refresh()


def freeze(monkeypatch, when: datetime) -> None:
    """Set the dossiers' clock (service and queries); ``when`` carries its zone."""

    from portal.dossiers import events, lookup, queries

    for module in (service, queries, events, lookup):
        monkeypatch.setattr(module, "utcnow", lambda: when.astimezone(UTC))
