"""Receipts: numbers from a per-series counter with no gap and no duplicate under
concurrency (on SQLite and on PostgreSQL alike), and the PDF's content with its
Vietnamese diacritics."""

from __future__ import annotations

import io
import threading

import sqlalchemy as sa
from pypdf import PdfReader

from portal.extensions import db
from portal.payments import receipts, service
from portal.payments.models import Receipt, ReceiptCounter
from tests.dossiers.support import make_filed
from tests.payments.support import (
    TOTAL,
    make_dossier,
    make_paid_service,
    pay_at_gateway,
    payment_row,
    receipts_of,
    start,
)

CONCURRENT = 50
THREADS = 10


def test_50_concurrent_payments_get_receipt_numbers_with_no_gap_and_no_duplicate(app, jobs, gateway):
    user, first = make_dossier()
    service_pair = make_paid_service()
    dossiers = [first] + [make_filed(user, *service_pair) for _ in range(CONCURRENT - 1)]
    payments = [start(user, d["id"]) for d in dossiers]
    # Paid at the gateway; the portal learns of it from 10 threads at once.
    snapshots = {p["id"]: pay_at_gateway(gateway, p) for p in payments}
    assert {s.state for s in snapshots.values()} == {"succeeded"}
    ids = list(snapshots)
    barrier = threading.Barrier(THREADS)
    errors = []

    def apply(share):
        with app.app_context():
            barrier.wait()
            for payment_id in share:
                try:
                    service._apply(payment_id, snapshots[payment_id], "test")
                    # The effects job's work, in this thread (inline or RQ, it calls this).
                    service.apply_effects(payment_id)
                except Exception as exc:  # noqa: BLE001 - collected and shown below
                    errors.append(repr(exc))
            db.session.remove()

    threads = [threading.Thread(target=apply, args=(ids[n::THREADS],)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    numbers = sorted(db.session.scalars(sa.select(Receipt.number)))
    assert numbers == list(range(1, CONCURRENT + 1))
    series = db.session.scalars(sa.select(Receipt.series)).all()
    assert len(set(series)) == 1
    assert db.session.get(ReceiptCounter, series[0]).last_value == CONCURRENT
    assert {payment_row(i).state for i in ids} == {"succeeded"}


def test_the_receipt_pdf_says_who_paid_what_for_which_dossier_in_figures_and_vietnamese_words(
    app, jobs, gateway
):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    service.refresh_payment(user, payment["id"])
    jobs()
    (receipt,) = receipts_of(payment["id"])
    reader = PdfReader(io.BytesIO(receipts.render_pdf(receipt)))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in (
        "BIÊN LAI THU PHÍ, LỆ PHÍ",
        f"Mẫu số: {receipt.template}",
        f"Ký hiệu: {receipt.series}",
        f"Số: {receipt.number:07d}",
        "Người nộp: Trần Thị Bình",
        f"Mã hồ sơ: {dossier['code']}",
        "Phí: cung cấp thông tin lý lịch tư pháp",
        "Lệ phí: cấp phiếu lý lịch tư pháp",
        "150.000 đ",
        "50.000 đ",
        "200.000 đồng",
        "Hai trăm nghìn đồng",
        "Cấp phiếu lý lịch tư pháp",
    ):
        assert expected in text, expected
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert all("DejaVuSans" in str(fonts[name].get_object()["/BaseFont"]) for name in fonts)


def test_amounts_in_vietnamese_words():
    assert receipts.amount_in_words(200_000) == "Hai trăm nghìn đồng"
    assert receipts.amount_in_words(1_050_000) == "Một triệu năm mươi nghìn đồng"
    assert receipts.money(1_500_000) == "1.500.000"


def test_a_second_payment_for_a_later_amount_gets_its_own_receipt_and_lines(app, jobs, gateway):
    from portal.db import transactional
    from portal.payments.fees import amounts, record_amount_due

    user, dossier = make_dossier()
    first = start(user, dossier["id"])
    pay_at_gateway(gateway, first)
    service.refresh_payment(user, first["id"])
    jobs()
    # The agency asks for more with status 6 (partner sync records it this way).
    transactional(record_amount_due)(dossier["id"], 30_000, source="partner:G15", external_id="G15-6-1")
    transactional(record_amount_due)(dossier["id"], 30_000, source="partner:G15", external_id="G15-6-1")
    assert amounts(dossier["id"]) == {"total": TOTAL + 30_000, "paid": TOTAL, "owed": 30_000}
    second = start(user, dossier["id"])
    assert second["amount"] == 30_000
    pay_at_gateway(gateway, second)
    service.refresh_payment(user, second["id"])
    jobs()
    (receipt,) = receipts_of(second["id"])
    assert receipt.total == 30_000 and [line["amount"] for line in receipt.lines] == [30_000]
    assert receipt.number == receipts_of(first["id"])[0].number + 1
