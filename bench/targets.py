"""What the load generator asks for: varied catalog searches and procedure pages.

Searches mix what citizens type (Vietnamese with and without diacritics, odd spacing and
case, procedure codes) with the filters the portal's search form sends. Field and agency
filters use codes read from the benchmark's own database, so they match real rows.
Procedure pages cycle over a few hundred real (bundled) and synthetic (9.xxxxxx) codes.
"""

from __future__ import annotations

import random
from urllib.parse import quote, urlencode

import sqlalchemy as sa

SEARCH_PATH = "/api/v1/procedures"
PAGE_PATH = "/thu-tuc/{code}"

# What people type into the search box.
TEXT_QUERIES = [
    "đăng ký kết hôn",
    "dang ky ket hon",
    "khai sinh",
    "Đăng ký khai sinh",
    "ĐĂNG KÝ KHAI TỬ",
    "hộ chiếu",
    "ho chieu pho thong",
    "căn cước",
    "can cuoc cong dan",
    "giấy phép lái xe",
    "cap lai giay phep lai xe",
    "đăng ký thường trú",
    "tạm trú",
    "giấy phép xây dựng",
    "đất đai",
    "chuyển mục đích sử dụng đất",
    "thành lập doanh nghiệp",
    "thanh lap doanh nghiep",
    "hộ kinh doanh",
    "bảo hiểm xã hội",
    "thai sản",
    "trợ cấp một lần",
    "tro cap",
    "chứng thực chữ ký",
    "chung thuc",
    "bản sao từ sổ gốc",
    "nuôi con nuôi",
    "nghĩa vụ quân sự",
    "hải quan",
    "thuế",
    "khám bệnh, chữa bệnh",
    "giấy phép hành nghề",
    "xuất nhập cảnh",
    "biên phòng",
    "công chứng",
    "hợp tác xã",
    "nhà ở",
    "  đăng   ký   xe  ",
    "giấy phép",
    "xyz không tồn tại",
]

CODE_QUERIES = ["1.000094", "2.000908", "1.001766", "3.000322", "9.000123", "9.006999", "2.000693"]


def search_paths(fields: list[str], agencies: list[str]) -> list[str]:
    """About sixty search URLs, in a fixed shuffled order."""
    params: list[dict] = [{"q": q} for q in TEXT_QUERIES]
    params += [{"q": q} for q in CODE_QUERIES]
    params += [
        {"q": "đăng ký", "level": "province", "online_level": "4"},
        {"q": "cap lai", "level": "commune"},
        {"q": "giấy phép", "online_level": "3"},
        {"q": "giay phep", "full_online": "true"},
        {"q": "đăng ký", "page": "2"},
        {"q": "thủ tục", "page": "3", "per_page": "50"},
        {"level": "central"},
        {"level": "province", "online_level": "4"},
        {"full_online": "true", "page": "2"},
        {"page": "2"},
        {},
    ]
    for code in fields[:6]:
        params.append({"field": code})
    for code in fields[:2]:
        params.append({"q": "cấp", "field": code, "page": "2"})
    for code in agencies[:3]:
        params.append({"agency": code})
    if agencies:
        params.append({"q": "đăng ký", "agency": agencies[0], "online_level": "4"})
    paths = [SEARCH_PATH + ("?" + urlencode(p) if p else "") for p in params]
    random.Random(7).shuffle(paths)
    return paths


def page_paths(codes: list[str]) -> list[str]:
    return [PAGE_PATH.format(code=quote(code, safe="")) for code in codes]


def read_catalog(database_url: str, *, real: int = 150, synthetic: int = 150) -> dict:
    """Codes to load with, read once from the benchmark's database.

    ``{"codes": [...], "fields": [...], "agencies": [...], "procedures": n}``: a seeded sample
    of active procedure codes (bundled ones and 9.xxxxxx synthetic ones), the field codes
    with the most procedures, and the agencies publishing the most procedures.
    """
    engine = sa.create_engine(_sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            all_codes = list(
                conn.execute(sa.text("SELECT code FROM procedures WHERE active ORDER BY code")).scalars()
            )
            fields = list(
                conn.execute(
                    sa.text(
                        "SELECT f.code FROM fields f JOIN procedure_fields pf ON pf.field_id = f.id "
                        "GROUP BY f.code ORDER BY count(*) DESC, f.code LIMIT 10"
                    )
                ).scalars()
            )
            agencies = list(
                conn.execute(
                    sa.text(
                        "SELECT coalesce(a.code, a.portal_code) FROM agencies a "
                        "JOIN procedures p ON p.publisher_id = a.id "
                        "GROUP BY a.code, a.portal_code ORDER BY count(*) DESC LIMIT 5"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    rng = random.Random(11)
    real_codes = [c for c in all_codes if not c.startswith("9.")]
    synthetic_codes = [c for c in all_codes if c.startswith("9.")]
    codes = rng.sample(real_codes, min(real, len(real_codes))) + rng.sample(
        synthetic_codes, min(synthetic, len(synthetic_codes))
    )
    rng.shuffle(codes)
    return {"codes": codes, "fields": fields, "agencies": agencies, "procedures": len(all_codes)}


def _sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
