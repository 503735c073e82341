"""Electronic receipts (biên lai điện tử): numbers from a per-series counter, the PDF.

A receipt is issued inside the transaction that records the payment as succeeded, so its
number is taken under the counter row's lock and rolled back with it: no gap, no
duplicate, whatever the concurrency. The PDF is drawn on demand from the frozen receipt
row, with DejaVu Sans embedded (committed in ``fonts/`` with its licence) so Vietnamese
diacritics print correctly.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from fpdf import FPDF
from num2words import num2words

from portal.dossiers.statuses import aware
from portal.extensions import db
from portal.payments.models import Receipt, ReceiptCounter
from portal.workdays import VN_TZ

FONTS = Path(__file__).resolve().parent / "fonts"
KIND_TITLES = {"phi": "Phí", "le_phi": "Lệ phí", "unspecified": "Khoản thu khác"}


def series_for(issued_at: datetime) -> str:
    """The configured series (RECEIPT_SERIES, ``{year}`` = the Vietnamese year), so each
    year's numbers start again at 1 as receipts in Vietnam do."""
    pattern = current_app.config.get("RECEIPT_SERIES", "DVC-{year}")
    return pattern.format(year=aware(issued_at).astimezone(VN_TZ).year)[:32]


def next_number(series: str) -> int:
    """The next number of ``series``; part of the caller's transaction, whose lock on the
    counter row is held until it ends (UPDATE ... RETURNING on both databases)."""
    table = ReceiptCounter.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values(series=series, last_value=0).on_conflict_do_nothing())
    return db.session.execute(
        sa.update(table)
        .where(table.c.series == series)
        .values(last_value=table.c.last_value + 1)
        .returning(table.c.last_value)
    ).scalar_one()


def issue(*, payment, dossier: dict, lines: list[dict], payer_name: str, now: datetime) -> Receipt:
    """Issue the receipt of a succeeded payment (part of the caller's transaction).

    ``dossier``: code, agency_code, agency_name, procedure_name (as
    portal.dossiers.service.record_payment returns them).
    """
    series = series_for(now)
    receipt = Receipt(
        payment_id=payment.id,
        dossier_id=payment.dossier_id,
        template=current_app.config.get("RECEIPT_TEMPLATE", "01BLP0-001")[:32],
        series=series,
        number=next_number(series),
        payer_name=(payer_name or "—")[:200],
        dossier_code=dossier["code"] or "",
        agency_code=dossier["agency_code"],
        agency_name=(dossier["agency_name"] or dossier["agency_code"])[:500],
        procedure_name=dossier["procedure_name"] or "",
        lines=lines,
        total=payment.amount,
        issued_at=now,
    )
    db.session.add(receipt)
    db.session.flush()
    return receipt


def amount_in_words(amount: int) -> str:
    """``150000`` → ``Một trăm năm mươi nghìn đồng``."""
    words = num2words(int(amount), lang="vi")
    return words[:1].upper() + words[1:] + " đồng"


def money(amount: int) -> str:
    """``1500000`` → ``1.500.000`` (Vietnamese thousands separator)."""
    return f"{int(amount):,}".replace(",", ".")


def receipt_number(receipt: Receipt) -> str:
    return f"{receipt.number:07d}"


def serialize(receipt: Receipt) -> dict:
    return {
        "id": receipt.id,
        "payment_id": receipt.payment_id,
        "template": receipt.template,
        "series": receipt.series,
        "number": receipt_number(receipt),
        "total": receipt.total,
        "issued_at": aware(receipt.issued_at).astimezone(VN_TZ).isoformat(),
    }


def file_name(receipt: Receipt) -> str:
    return f"bien-lai-{receipt.series}-{receipt_number(receipt)}.pdf"


def render_pdf(receipt: Receipt) -> bytes:
    """The receipt as an A5 PDF: template and series, number, payer, dossier, agency, the
    lines under phí and lệ phí, the total in figures and in words, the date."""
    pdf = FPDF(format=(148, 210))  # A5, in millimetres
    pdf.set_title(f"Biên lai {receipt.series} {receipt_number(receipt)}")
    pdf.set_creator("Cổng Dịch vụ công")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("DejaVu", "", 8)
    pdf.cell(width / 2, 4, receipt.agency_name[:60], new_x="RIGHT", new_y="TOP")
    pdf.cell(width / 2, 4, f"Mẫu số: {receipt.template}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width / 2, 4, f"Mã cơ quan: {receipt.agency_code}", new_x="RIGHT", new_y="TOP")
    pdf.cell(width / 2, 4, f"Ký hiệu: {receipt.series}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 4, f"Số: {receipt_number(receipt)}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(width, 7, "BIÊN LAI THU PHÍ, LỆ PHÍ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(width, 4, "(Biên lai điện tử)", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("DejaVu", "", 9)
    for label, value in (
        ("Người nộp", receipt.payer_name),
        ("Mã hồ sơ", receipt.dossier_code),
        ("Thủ tục", receipt.procedure_name),
        ("Cơ quan thu", receipt.agency_name),
    ):
        pdf.multi_cell(width, 5, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    for kind in ("phi", "le_phi", "unspecified"):
        items = [line for line in receipt.lines if line.get("kind") == kind]
        if not items:
            continue
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(width, 6, KIND_TITLES[kind], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        for line in items:
            top = pdf.get_y()
            pdf.multi_cell(width - 34, 5, line["description"], new_x="LMARGIN", new_y="NEXT")
            bottom = pdf.get_y()
            pdf.set_xy(pdf.l_margin + width - 32, top)
            pdf.cell(32, 5, f"{money(line['amount'])} đ", align="R")
            pdf.set_xy(pdf.l_margin, bottom)
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(width - 40, 6, "Tổng cộng", new_x="RIGHT", new_y="TOP")
    pdf.cell(40, 6, f"{money(receipt.total)} đồng", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        width, 5, f"Số tiền bằng chữ: {amount_in_words(receipt.total)}.", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    issued = aware(receipt.issued_at).astimezone(VN_TZ)
    pdf.cell(
        width,
        5,
        f"Ngày {issued.day:02d} tháng {issued.month:02d} năm {issued.year}",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(width, 5, f"Thanh toán trực tuyến lúc {issued:%H:%M} (giờ Việt Nam)", align="R")
    return bytes(pdf.output())
