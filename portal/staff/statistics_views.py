"""Statistics pages: the back office's (scoped) and the public one (national aggregate)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.cache import anonymous_page, cached_text
from portal.dossiers.statuses import status_name
from portal.staff import bp, current_staff, statistics, statistics_bp
from portal.staff.charts import bar_chart

RATING_LABELS = {
    "very_satisfied": _l("Very satisfied"),
    "satisfied": _l("Satisfied"),
    "not_satisfied": _l("Not satisfied"),
}


def _status_words(code: str) -> str:
    from flask import g

    names = status_name(int(code)) if code.isdigit() else None
    return f"{code}. {names[g.get('lang', 'vi')]}" if names else "—"


def charts(data: dict) -> dict:
    """The SVG charts of a set of figures."""
    return {
        "by_status": bar_chart(
            [(_status_words(code), count) for code, count in data["dossiers_by_status"].items()],
            title=_("Dossiers by status"),
        ),
        "by_agency": bar_chart(
            [tuple(row) for row in data["dossiers_by_agency"]], title=_("Dossiers by ministry or province")
        ),
        "on_time": bar_chart(
            [(_("On time"), data["finished"] - data["finished_late"]), (_("Late"), data["finished_late"])],
            title=_("Finished dossiers on time and late"),
            alt_from=1,
        ),
        "ratings": bar_chart(
            [(str(RATING_LABELS[k]), v) for k, v in data["ratings"].items()], title=_("Satisfaction")
        ),
        "tickets": bar_chart(
            [tuple(row) for row in data["tickets_by_month"]], title=_("Feedback received by month")
        ),
        "sla": bar_chart(
            [
                (_("Answered in time"), data["tickets_answered"] - data["tickets_answered_late"]),
                (_("Answered late"), data["tickets_answered_late"]),
            ],
            title=_("Feedback answered within the time limit"),
            alt_from=1,
        ),
        "payments": bar_chart(
            [(row[0], row[2]) for row in data["payments_by_month"]],
            title=_("Fees paid online by month (đồng, net of refunds)"),
        ),
        "full_online": bar_chart(
            [(row[0], row[1]) for row in data["full_online_share"]],
            title=_("Share of online services offered fully online (level 4)"),
            unit="%",
        ),
    }


@bp.get("/thong-ke")
def statistics_page():
    data = statistics.figures(current_staff())
    return render_template("staff/statistics.html", data=data, charts=charts(data), public=False)


@statistics_bp.get("/thong-ke")
def public_statistics():
    # The figures are the same for everyone: a visitor who is not signed in gets the whole
    # page from the cache; the figures and charts are rendered once per language and
    # period (statistics.period()), so they refresh without an invalidation.
    period = statistics.period()
    return anonymous_page("stats", f"public-page:{period}", lambda: _public_statistics_page(period))


def _public_statistics_page(period: int) -> str:
    from flask import g
    from markupsafe import Markup

    def figures_html() -> str:
        data = statistics.public_figures()
        return render_template("staff/_figures.html", data=data, charts=charts(data))

    html = cached_text("stats", f"public-html:{g.get('lang', 'vi')}:{period}", figures_html)
    return render_template("staff/public_statistics.html", figures=Markup(html))  # noqa: S704 - our own rendered template
