"""Statistics with server-rendered SVG charts: the back office's (scoped for agency
officers) and the public page (no sign-in, no JavaScript)."""

from __future__ import annotations

from portal.cache import invalidate
from portal.staff import statistics
from portal.staff.charts import bar_chart
from tests.staff.support import make_staff, sign_in_staff
from tests.staff.world import build_world


def test_charts_are_svg_with_escaped_labels_and_scaled_bars():
    svg = str(bar_chart([("<script>x</script>", 10), ("Hà Nội", 5)], title="Thử & xem"))
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'width="360' in svg and 'width="180' in svg and "Thử &amp; xem" in svg
    assert "<svg" in str(bar_chart([], title="Trống"))


def test_feedback_figures_count_received_answered_and_overdue_tickets(app, jobs):
    world = build_world(app)
    data = statistics.figures(world["people"]["admin"])
    assert data["tickets_answered"] == 1 and data["tickets_answered_late"] == 0 and data["sla_rate"] == 100.0
    assert sum(count for _month, count in data["tickets_by_month"]) == 2
    scoped = statistics.figures(world["people"]["agency_officer"])
    assert sum(count for _month, count in scoped["tickets_by_month"]) == 1  # the Hà Nội ticket is outside


def test_the_staff_page_and_the_public_page_show_the_charts_without_javascript(app, client, jobs):
    invalidate("stats")
    sign_in_staff(client, make_staff("agent"))
    page = client.get("/quan-tri/thong-ke").get_data(as_text=True)
    assert page.count("<svg") == 8 and "<script" not in page
    public = app.test_client().get("/thong-ke")
    assert public.status_code == 200 and public.get_data(as_text=True).count("<svg") == 8
    assert "<script" not in public.get_data(as_text=True)


def test_dossier_figures_come_from_the_dossier_tables(app, jobs):
    from datetime import UTC, datetime, timedelta

    from portal.dossiers.models import Dossier, Rating
    from portal.extensions import db
    from tests.staff.support import make_agencies

    agencies = make_agencies()
    now = datetime.now(UTC)
    rows = [
        Dossier(
            state="filed",
            status=10,
            procedure_code="1",
            agency_code="000.00.01.H22",
            agency_id=agencies["000.00.01.H22"],
            due_at=now,
            finished_at=now - timedelta(days=1),
            code="A-1",
        ),
        Dossier(
            state="filed",
            status=10,
            procedure_code="1",
            agency_code="000.00.01.H22",
            agency_id=agencies["000.00.01.H22"],
            due_at=now - timedelta(days=2),
            finished_at=now,
            code="A-2",
        ),
        Dossier(
            state="filed",
            status=4,
            procedure_code="1",
            agency_code="000.00.00.H29",
            agency_id=agencies["000.00.00.H29"],
            due_at=now - timedelta(days=1),
            code="A-3",
        ),
        Dossier(
            state="draft",
            procedure_code="1",
            agency_code="000.00.00.H29",
            agency_id=agencies["000.00.00.H29"],
        ),
    ]
    db.session.add_all(rows)
    db.session.flush()
    db.session.add(Rating(dossier_id=rows[0].id, value="very_satisfied"))
    db.session.commit()
    data = statistics.compute(None)
    assert data["dossiers_total"] == 3 and data["dossiers_by_status"] == {"4": 1, "10": 2}
    assert data["finished"] == 2 and data["finished_late"] == 1 and data["on_time_rate"] == 50.0
    assert data["overdue_open"] == 1 and data["ratings"]["very_satisfied"] == 1
    officer = make_staff("agency_officer", agencies=("000.00.00.H22",))
    assert statistics.figures(officer)["dossiers_total"] == 2


def test_online_payments_count_what_was_paid_net_of_refunds_within_the_officers_agencies(app, jobs):
    from datetime import UTC, datetime

    from portal.dossiers.models import Dossier
    from portal.extensions import db
    from portal.payments.models import Payment
    from tests.staff.support import make_agencies

    agencies = make_agencies()
    now = datetime.now(UTC)

    def dossier(code: str, agency: str) -> Dossier:
        row = Dossier(
            state="filed",
            status=4,
            procedure_code="1",
            agency_code=agency,
            agency_id=agencies[agency],
            code=code,
        )
        db.session.add(row)
        db.session.flush()
        return row

    hanoi, hue = dossier("P-1", "000.00.01.H22"), dossier("P-2", "000.00.00.H29")
    db.session.add_all(
        [
            Payment(dossier_id=hanoi.id, amount=50_000, state="succeeded", succeeded_at=now),
            Payment(
                dossier_id=hanoi.id,
                amount=30_000,
                amount_refunded=10_000,
                state="partially_refunded",
                succeeded_at=now,
            ),
            Payment(dossier_id=hue.id, amount=100_000, state="succeeded", succeeded_at=now),
            Payment(dossier_id=hue.id, amount=999_000, state="failed"),
        ]
    )
    db.session.commit()
    data = statistics.compute(None)
    assert data["payments_total"] == 3 and data["payments_amount"] == 170_000
    assert [row[1:] for row in data["payments_by_month"]] == [[3, 170_000]]
    officer = make_staff("agency_officer", agencies=("000.00.00.H22",))
    scoped = statistics.figures(officer)
    assert scoped["payments_total"] == 2 and scoped["payments_amount"] == 70_000
