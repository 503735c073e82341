"""Catalog search: folding, ranking, filters, pagination, hostile input, and a national-size
catalog, through the real path (parse_search_params, then the cached search)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal.catalog.service import parse_search_params, search
from portal.errors import ValidationFailed
from portal.extensions import db
from services_catalog.models import OnlineService, Procedure
from services_catalog.normalize import fold
from tests.factories import COUNCIL_FEE, bundled_agencies, import_procedures, procedure_record


def find(**args) -> dict:
    return search(parse_search_params({k: str(v) for k, v in args.items()}))


def codes(**args) -> list[str]:
    return [item["code"] for item in find(per_page=100, **args)["items"]]


# ------------------------------------------------------------------ a small, known catalog


@pytest.fixture
def small_catalog(app):
    """Eight procedures through the importer, with a test agency under the Ministry of Justice
    (G97 below G15) so that filtering by an agency can be seen to include its descendants."""
    agencies = bundled_agencies()
    agencies["agencies"].append(
        {
            "code": "000.00.00.G97",
            "level1_code": "G97",
            "level": "central",
            "name": "Cục Hộ tịch thử nghiệm",
            "parent_code": "000.00.00.G15",
            "status": "active",
        }
    )
    import_procedures(
        procedure_record(code="1.001193", name="Thủ tục đăng ký khai sinh", levels=(3,)),
        procedure_record(
            code="1.001695",
            name="Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con",
            levels=(3,),
            fee=COUNCIL_FEE,
        ),
        procedure_record(
            code="2.000635",
            name="Cấp bản sao trích lục hộ tịch",
            levels=(3,),
            online=False,
            results=("Bản sao trích lục đăng ký khai sinh",),
        ),
        procedure_record(code="1.000894", name="Thủ tục đăng ký kết hôn", levels=(3,)),
        procedure_record(
            code="2.001000",
            name="Cấp giấy phép hoạt động điện lực",
            levels=(0,),
            fields=(("G02-DL01", "Điện"),),
            publisher="G02",
            publisher_name="Bộ Công thương",
            fee=COUNCIL_FEE,
        ),
        procedure_record(
            code="2.001001",
            name="Cấp chứng chỉ hành nghề kiến trúc",
            levels=(0,),
            fields=("Kiến trúc",),
            publisher="G17",
            publisher_name="Bộ Xây dựng",
            online=False,
        ),
        procedure_record(
            code="1.000100",
            name="Xác nhận thông tin hộ tịch",
            levels=(None,),
            publisher="G97",
            publisher_name="Cục Hộ tịch thử nghiệm",
            fee=5000,
        ),
        procedure_record(
            code="1.000200",
            name="Đăng ký thuế lần đầu",
            levels=(0, 1),
            fields=("Thuế",),
            publisher="G12",
            publisher_name="Bộ Tài chính",
        ),
        agencies=agencies,
    )
    return app


@pytest.mark.parametrize(
    "q", ["dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "Đăng ký khai sinh", "  đăng   KÝ  khai-sinh "]
)
def test_a_query_finds_the_procedure_whatever_its_case_and_diacritics(small_catalog, q):
    # The name first, the longer name with the phrase next, the one mentioning it elsewhere last.
    assert codes(q=q) == ["1.001193", "1.001695", "2.000635"]


def test_d_matches_the_letter_đ(small_catalog):
    assert codes(q="dien") == codes(q="ĐIỆN") == codes(q="điện") == ["2.001000"]


def test_matches_in_the_name_rank_above_matches_in_other_text(small_catalog):
    found = find(q="ho tich", per_page=100)["items"]

    in_name = [item for item in found if "ho tich" in fold(item["name"])]
    assert {item["code"] for item in in_name} == {"2.000635", "1.000100"}
    assert found[: len(in_name)] == in_name
    assert len(found) > len(in_name), "procedures of the field Hộ tịch match too, below"


def test_searching_for_a_code_puts_that_procedure_first(small_catalog):
    assert codes(q="1.001695")[0] == "1.001695"
    assert codes(q="2.001000") == ["2.001000"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"level": "commune"}, {"1.001193", "1.001695", "2.000635", "1.000894"}),
        ({"level": "central"}, {"2.001000", "2.001001", "1.000200"}),
        ({"level": "province"}, {"1.000200"}),
        ({"level": "other"}, {"1.000100"}),
        ({"level": "district"}, set()),
        ({"agency": "000.00.00.G15"}, {"1.001193", "1.001695", "2.000635", "1.000894", "1.000100"}),
        ({"agency": "000.00.00.G97"}, {"1.000100"}),
        ({"agency": "000.00.00.H26"}, {"1.001193", "1.001695", "1.000894", "1.000200"}),
        ({"agency": "000.00.00.H30"}, set()),
        ({"agency": "000.00.00.G99"}, set()),
        ({"field": "G02-DL01"}, {"2.001000"}),
        ({"field": "thue"}, {"1.000200"}),
        ({"field": "ho-tich"}, {"1.001193", "1.001695", "2.000635", "1.000894", "1.000100"}),
        ({"online_level": 3}, {"1.001695", "2.001000"}),
        ({"online_level": 4}, {"1.001193", "1.000894", "1.000100", "1.000200"}),
        ({"full_online": "true"}, {"1.001193", "1.000894", "1.000100", "1.000200"}),
        ({"q": "dang ky", "level": "commune"}, {"1.001193", "1.001695", "1.000894", "2.000635"}),
        ({"q": "khai sinh", "full_online": "1"}, {"1.001193"}),
        ({"agency": "000.00.00.H26", "online_level": 3}, {"1.001695"}),
        ({"agency": "000.00.00.G15", "online_level": 4}, {"1.000100"}),
        ({"agency": "000.00.00.G02", "full_online": "true"}, set()),
        ({"field": "ho-tich", "level": "commune", "online_level": 4}, {"1.001193", "1.000894"}),
        ({"level": "central", "agency": "000.00.00.G12", "field": "thue", "q": "thue"}, {"1.000200"}),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else "",
)
def test_filters_and_their_combinations(small_catalog, filters, expected):
    result = find(per_page=100, **filters)

    assert {item["code"] for item in result["items"]} == expected
    assert result["total"] == len(expected)


def test_filtering_by_an_agency_includes_the_agencies_below_it(small_catalog):
    justice = set(codes(agency="000.00.00.G15"))

    assert set(codes(agency="000.00.00.G97")) < justice


def test_retired_procedures_are_not_found(small_catalog):
    import_procedures(
        procedure_record(code="1.001193", name="Thủ tục đăng ký khai sinh", levels=(3,)), full=True
    )

    assert codes(q="khai sinh") == ["1.001193"]
    assert find()["total"] == 1


# ----------------------------------------------------------- pagination, on the real catalog


def test_one_result_per_page(catalog_client):
    page = find(per_page=1)

    assert (len(page["items"]), page["total"], page["pages"]) == (1, 518, 518)


def test_the_last_page_holds_the_rest_and_a_page_beyond_the_end_is_empty(catalog_client):
    last = find(per_page=100, page=6)
    beyond = find(per_page=100, page=7)
    far = find(per_page=100, page=10_000)

    assert (len(last["items"]), last["total"], last["pages"]) == (18, 518, 6)
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 518, 7)
    assert (far["items"], far["total"]) == ([], 518)


def test_walking_every_page_returns_every_procedure_once(catalog_client):
    seen = [item["code"] for page in range(1, 7) for item in find(per_page=100, page=page)["items"]]

    assert len(seen) == len(set(seen)) == 518


@pytest.mark.parametrize(
    "args",
    [
        {"per_page": "0"},
        {"per_page": "101"},
        {"page": "0"},
        {"page": "-1"},
        {"page": "10001"},
        {"page": "two"},
        {"per_page": "1e2"},
    ],
)
def test_page_numbers_out_of_range_are_validation_errors(args):
    with pytest.raises(ValidationFailed):
        parse_search_params(args)


# ---------------------------------------------------------------------------- hostile input

NOTHING_TO_SEARCH = ["%", "%%", "_", "__%", "\\", "\\%", "'", '"', "''", "😀", "🇻🇳 💡", "%_\\'\";--"]
NEVER_EVERYTHING = [
    "' OR 1=1 --",
    '" OR ""="',
    "'; DROP TABLE procedures; --",
    "1=1",
    "%' OR '%'='",
    "a%b",
    "ĐĂNG%KÝ",
    "khai_sinh",
    "\\x00",
    "NULL",
    "*",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("q", NOTHING_TO_SEARCH)
def test_punctuation_symbols_and_emoji_find_nothing_rather_than_everything(catalog_client, q):
    result = find(q=q)

    assert (result["items"], result["total"]) == ([], 0)


@pytest.mark.parametrize("q", NEVER_EVERYTHING)
def test_hostile_queries_never_fail_and_never_match_everything(catalog_client, q):
    result = find(q=q, per_page=100)

    assert result["total"] < 518
    words = fold(q).split()
    texts = dict(
        db.session.execute(
            sa.select(Procedure.code, Procedure.name_norm + " " + Procedure.search_norm).where(
                Procedure.code.in_([item["code"] for item in result["items"]])
            )
        ).all()
    )
    for item in result["items"]:
        assert all(w in texts[item["code"]] for w in words), "each hit holds each word of the query"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Procedure)) == 518


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("agency", "' OR 1=1 --"),
        ("field", "%"),
        ("field", "ho-tich' OR '1'='1"),
        ("agency", "%"),
        ("field", "_"),
    ],
)
def test_hostile_filter_values_match_nothing(catalog_client, name, value):
    assert find(**{name: value})["total"] == 0


@pytest.mark.parametrize(
    "args",
    [
        {"q": "khai\x00sinh"},
        {"q": "x" * 10_000},
        {"q": "đ" * 201},
        {"agency": "H26\x00"},
        {"agency": "0" * 33},
        {"field": "x" * 65},
        {"level": "' OR 1=1 --"},
        {"online_level": "5"},
        {"full_online": "maybe"},
    ],
    ids=[
        "NUL in q",
        "10 kB q",
        "201 characters",
        "NUL in agency",
        "long agency",
        "long field",
        "level",
        "online level",
        "full_online",
    ],
)
def test_invalid_parameters_are_validation_errors(args):
    with pytest.raises(ValidationFailed):
        parse_search_params(args)


# ------------------------------------------------------------ a national-size catalog: 7,000

BIG = 7000


@pytest.fixture(scope="module")
def big_catalog(_tmp_root):
    """7,000 synthetic procedures (real records' shapes under new codes and names) on their
    own migrated database, imported once for the module; the import is timed."""
    from services_catalog.generate import synthetic_records
    from tests.conftest import make_test_app

    app = make_test_app(_tmp_root, "search7000")
    records = synthetic_records(BIG, seed=7000)
    with app.app_context():
        started = time.perf_counter()
        report = import_procedures(*records, provinces=True)
        elapsed = time.perf_counter() - started
        db.session.remove()
    assert (report.created, report.rejected) == (BIG, [])
    yield app, records, elapsed
    _drop_database(app)


def _drop_database(app) -> None:
    """Drop this module's PostgreSQL database now rather than at the end of the session: it
    is large, and tests.conftest as imported here keeps its own list of databases to drop."""
    import os

    from portal.config import _normalise_db_url

    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        db.engine.dispose()
    if url.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(_normalise_db_url(os.environ["DATABASE_URL"]), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def big(big_catalog):
    app, records, elapsed = big_catalog
    with app.app_context():
        rows = db.session.execute(
            sa.select(Procedure.id, Procedure.code, Procedure.name_norm, Procedure.search_norm)
        ).all()
        yield {"records": records, "elapsed": elapsed, "rows": rows}
        db.session.remove()


def test_importing_7000_procedures_takes_well_under_a_minute(big, record_property):
    # About 10 s on SQLite and 25 s on PostgreSQL on a busy two-core machine; the bound
    # catches a return to per-record queries (several minutes), not noise.
    record_property("import_seconds", round(big["elapsed"], 1))
    assert big["elapsed"] < 90


def _expected(rows, q: str) -> set[str]:
    words = fold(q).split()
    return {r.code for r in rows if all(w in r.name_norm or w in r.search_norm for w in words)}


def _rank(row, q: str) -> int:
    words, phrase = fold(q).split(), fold(q)
    if row.code == q.strip():
        return 0
    if phrase in row.name_norm:
        return 1
    return 2 if all(w in row.name_norm for w in words) else 3


def _all_pages(**args) -> list[dict]:
    items, page = [], 1
    while True:
        result = find(per_page=100, page=page, **args)
        items += result["items"]
        if page >= result["pages"]:
            return items
        page += 1


@pytest.mark.parametrize(
    "q", ["dang ky khai sinh", "ĐIỆN", "cấp lại", "mẫu 12", "9.004321", "giay phep lai xe", "xyzzy"]
)
def test_on_7000_procedures_every_page_together_is_exactly_what_matches_in_rank_order(big, q):
    by_code = {r.code: r for r in big["rows"]}
    expected = _expected(big["rows"], q)

    started = time.perf_counter()
    first = find(q=q, per_page=100)
    assert time.perf_counter() - started < 2, "a search on a national-size catalog answers at once"
    items = _all_pages(q=q)

    assert first["total"] == len(expected)
    assert [i["code"] for i in items] == list(dict.fromkeys(i["code"] for i in items)), "no duplicates"
    assert {i["code"] for i in items} == expected
    order = [(_rank(by_code[i["code"]], q), len(by_code[i["code"]].name_norm)) for i in items]
    assert order == sorted(order)


def test_on_7000_procedures_a_code_search_puts_that_procedure_first(big):
    assert find(q="9.004321")["items"][0]["code"] == "9.004321"
    assert find(q="9.000007")["items"][0]["code"] == "9.000007"


def test_on_7000_procedures_the_filters_count_what_the_records_say(big):
    records = big["records"]
    commune = {r["MATTHC"] for r in records if any(c["CAPTHUCHIEN"] == "3" for c in r["CAPTHUCHIEN"])}
    civil_status = {
        r["MATTHC"] for r in records if any(f["TENLINHVUC"] == "Hộ tịch" for f in r["LINHVUCTHUCHIEN"])
    }
    level4 = set(
        db.session.scalars(
            sa.select(Procedure.code)
            .join(OnlineService)
            .where(OnlineService.level == 4, OnlineService.active)
        )
    )

    assert find(level="commune")["total"] == len(commune) > 0
    assert find(field="ho-tich")["total"] == len(civil_status) > 0
    assert find(online_level="4")["total"] == len(level4) > 0
    assert {i["code"] for i in _all_pages(field="ho-tich", level="commune")} == civil_status & commune
    assert find()["total"] == BIG
