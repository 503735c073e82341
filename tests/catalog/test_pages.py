"""The citizen-facing catalog pages: home, search results, procedure page, error page.

Run against the 518 real bundled procedures (``catalog_client``), in Vietnamese (the
default) and English, through the real routes, templates and message catalogs.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.browser.support import TRANSLATIONS, compile_translations

ROOT = Path(__file__).resolve().parents[2]
BIRTH = "1.001193"  # Thủ tục đăng ký khai sinh: level 4 at ten provinces, free
ADOPTION = "2.001263"  # Đăng ký việc nuôi con nuôi trong nước: lệ phí 400.000 đồng, form templates
FOREIGN_ADOPTION = "1.003976"  # not offered online; lệ phí 9.000.000 đồng
PASSPORT_FEE_IN_USD = "1.002411"
# Thủ tục mở sân bay chuyên dùng: decided by the General Staff, with two coordinating agencies.
AIRFIELD = "1.013275"

# The .mo files are build output; compile them before any page is rendered in this process.
compile_translations()


class Page(HTMLParser):
    """The parts of a page the tests look at: tags with their attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: (v or "") for k, v in attrs}))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text_parts))

    def find(self, tag: str, **attrs) -> list[dict]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def links(self) -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and "href" in a]


def page(response) -> Page:
    return Page(response.get_data(as_text=True))


def result_codes(response) -> list[str]:
    return [
        href.rsplit("/", 1)[1] for href in page(response).links() if re.fullmatch(r"/thu-tuc/[^/?]+", href)
    ]


# --- home --------------------------------------------------------------------------------


def test_home_page_is_in_vietnamese_by_default(catalog_client):
    response = catalog_client.get("/")
    assert response.status_code == 200
    html = page(response)
    assert html.find("html")[0]["lang"] == "vi"
    assert "Tìm kiếm dịch vụ công" in html.text
    assert "Cổng Dịch vụ công quốc gia" in html.text
    assert "Find a public service" not in html.text


def test_home_page_has_a_search_form_popular_services_fields_with_counts_and_levels(catalog_client):
    html = page(catalog_client.get("/"))
    form = html.find("form", role="search")[0]
    assert form["action"] == "/thu-tuc" and form["method"] == "get"
    assert html.find("input", name="q", id="home-q")
    assert html.find("label", for_="home-q")
    assert html.find("button", type="submit")
    assert "Dịch vụ công trực tuyến nổi bật" in html.text
    assert sum(1 for link in html.links() if re.fullmatch(r"/thu-tuc/[\d.]+", link)) >= 4
    assert "/thu-tuc?field=ho-tich" in html.links()
    assert "24 thủ tục" in html.text  # Hộ tịch has 24 procedures in the bundled catalog
    for level in ("central", "province", "commune", "other"):
        assert f"/thu-tuc?level={level}" in html.links()


def test_home_page_is_in_english_with_lang_en_and_the_cookie_remembers_the_choice(catalog_client):
    response = catalog_client.get("/?lang=en")
    html = page(response)
    assert html.find("html")[0]["lang"] == "en"
    assert "Find a public service" in html.text
    assert "National Public Service Portal" in html.text
    assert "lang=en" in response.headers["Set-Cookie"]

    again = page(catalog_client.get("/thu-tuc"))
    assert again.find("html")[0]["lang"] == "en"
    assert "Administrative procedures" in again.text

    back = page(catalog_client.get("/?lang=vi"))
    assert back.find("html")[0]["lang"] == "vi"


def test_the_language_switcher_marks_the_current_language_and_keeps_the_search(catalog_client):
    html = page(catalog_client.get("/thu-tuc?q=khai+sinh&level=commune"))
    switch = {a["hreflang"]: a for a in html.find("a") if a.get("hreflang")}
    assert switch["vi"].get("aria-current") == "true"
    assert "aria-current" not in switch["en"]
    assert parse_qs(urlsplit(switch["en"]["href"]).query) == {
        "q": ["khai sinh"],
        "level": ["commune"],
        "lang": ["en"],
    }


# --- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "Đăng ký khai sinh"])
def test_search_finds_birth_registration_with_or_without_diacritics_in_any_case(catalog_client, q):
    response = catalog_client.get("/thu-tuc", query_string={"q": q})
    assert response.status_code == 200
    assert "Thủ tục đăng ký khai sinh" in page(response).text
    assert result_codes(response)[0] == BIRTH


def test_search_results_show_count_code_levels_fields_and_online_level(catalog_client):
    html = page(catalog_client.get("/thu-tuc", query_string={"q": "dang ky khai sinh"}))
    assert re.search(r"Tìm thấy \d+ thủ tục cho “dang ky khai sinh”", html.text)
    assert f"/thu-tuc/{BIRTH}" in html.links()
    assert BIRTH in html.text
    assert "Cấp xã" in html.text
    assert "Hộ tịch" in html.text
    assert "Trực tuyến mức độ 4" in html.text
    assert "Toàn trình" in html.text


def test_filters_narrow_the_results_and_stay_selected_in_the_form(catalog_client):
    unfiltered = page(catalog_client.get("/thu-tuc", query_string={"q": "dang ky"}))
    response = catalog_client.get(
        "/thu-tuc",
        query_string={
            "q": "dang ky",
            "level": "commune",
            "field": "ho-tich",
            "online_level": "4",
            "full_online": "1",
        },
    )
    html = page(response)
    total = int(re.search(r"Tìm thấy (\d+) thủ tục", html.text).group(1))
    assert 0 < total < int(re.search(r"Tìm thấy (\d+) thủ tục", unfiltered.text).group(1))
    assert html.find("option", value="commune", selected="")
    assert html.find("option", value="ho-tich", selected="")
    assert html.find("option", value="4", selected="")
    assert html.find("input", name="full_online", checked="")
    assert html.find("input", type="hidden", name="q", value="dang ky")


def test_a_province_filter_lists_procedures_offered_there(catalog_client):
    html = page(catalog_client.get("/thu-tuc", query_string={"agency": "000.00.00.H26", "q": "khai sinh"}))
    assert html.find("option", value="000.00.00.H26", selected="")
    assert "Thủ tục đăng ký khai sinh" in html.text


def test_pagination_links_keep_every_filter_and_mark_the_current_page(catalog_client):
    response = catalog_client.get(
        "/thu-tuc", query_string={"level": "province", "full_online": "1", "page": "2", "per_page": "10"}
    )
    html = page(response)
    nav = html.find("nav", **{"aria-label": "Các trang kết quả"})
    assert nav, "pagination has an accessible name"
    pages = [href for href in html.links() if "page=" in href]
    assert pages
    for href in pages:
        args = parse_qs(urlsplit(href).query)
        assert args["level"] == ["province"]
        assert args["full_online"] == ["1"]
        assert args["per_page"] == ["10"]

    def page_of(link):
        return parse_qs(urlsplit(link["href"]).query)["page"]

    assert page_of(html.find("a", rel="prev")[0]) == ["1"]
    assert page_of(html.find("a", rel="next")[0]) == ["3"]
    assert [page_of(a) for a in html.find("a", **{"aria-current": "page"}) if "page=" in a["href"]] == [["2"]]
    assert "Trang 2 trên" in html.text


def test_pages_of_results_do_not_repeat_procedures(catalog_client):
    first = result_codes(catalog_client.get("/thu-tuc?level=commune&page=1"))
    second = result_codes(catalog_client.get("/thu-tuc?level=commune&page=2"))
    assert len(first) == 20 and second
    assert not set(first) & set(second)


@pytest.mark.parametrize(
    "args,expected",
    [
        ({"page": "abc"}, "Số trang không hợp lệ."),
        ({"page": "0"}, "Số trang không hợp lệ."),
        ({"level": "galaxy"}, "Hãy chọn cấp thực hiện trong danh sách."),
        ({"online_level": "5"}, "Mức độ dịch vụ công trực tuyến phải là 3 hoặc 4."),
        ({"per_page": "100000"}, "Số kết quả mỗi trang phải từ 1 đến 100."),
        ({"full_online": "perhaps"}, "Lựa chọn “chỉ dịch vụ công trực tuyến toàn trình” không hợp lệ."),
        ({"agency": "x" * 40}, "Hãy chọn tỉnh, thành phố hoặc bộ, ngành trong danh sách."),
    ],
)
def test_a_bad_parameter_gets_the_results_page_with_a_readable_message_and_400(
    catalog_client, args, expected
):
    response = catalog_client.get("/thu-tuc", query_string=args)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    html = page(response)
    assert html.find("div", role="alert")
    assert expected in html.text
    assert "must be" not in html.text  # the service's developer wording stays out of the page
    assert html.find("select", name="level"), "the filters are still there to fix the search"


def test_a_bad_parameter_is_explained_in_english_on_the_english_page(catalog_client):
    html = page(catalog_client.get("/thu-tuc?page=abc&lang=en"))
    assert "The page number is not valid." in html.text
    assert "We could not search with these options" in html.text


def test_a_10_kb_query_gets_a_400_page_not_a_500(catalog_client):
    response = catalog_client.get("/thu-tuc", query_string={"q": "khai sinh " * 1024})
    assert response.status_code == 400
    html = page(response)
    assert "Từ khóa tìm kiếm quá dài" in html.text
    assert html.find("input", name="q", id="search-q")[0]["value"] == ""
    assert len(response.data) < 60_000


@pytest.mark.parametrize(
    "hostile",
    [
        '"><script>alert(1)</script>',
        "<img src=x onerror=alert(1)>",
        "' OR '1'='1",
        "%",
        "_",
        "100%_sure\\",
    ],
)
def test_hostile_queries_are_escaped_in_the_page(catalog_client, hostile):
    response = catalog_client.get("/thu-tuc", query_string={"q": hostile})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert page(response).find("input", id="search-q")[0]["value"] == hostile


def test_an_empty_result_says_so_and_suggests_dropping_the_filters(catalog_client):
    response = catalog_client.get(
        "/thu-tuc", query_string={"q": "khai sinh", "level": "central", "field": "thue"}
    )
    assert response.status_code == 200
    html = page(response)
    assert "Tìm thấy 0 thủ tục" in html.text
    assert "Không tìm thấy thủ tục nào phù hợp." in html.text
    assert "Bỏ bớt bộ lọc để xem thêm kết quả." in html.text
    assert "/thu-tuc?q=khai+sinh" in html.links()


def test_an_empty_result_without_filters_suggests_other_words(catalog_client):
    html = page(catalog_client.get("/thu-tuc", query_string={"q": "xyzzy plugh"}))
    assert "Kiểm tra lại chính tả" in html.text
    assert "Bỏ bớt bộ lọc" not in html.text


def test_the_results_page_without_a_query_lists_every_active_procedure(catalog_client):
    html = page(catalog_client.get("/thu-tuc"))
    assert "518 thủ tục" in html.text


# --- procedure page ----------------------------------------------------------------------


def test_procedure_page_shows_the_procedure_in_full(catalog_client):
    response = catalog_client.get(f"/thu-tuc/{ADOPTION}")
    assert response.status_code == 200
    html = page(response)
    text = html.text
    assert html.find("h1")
    assert "Đăng ký việc nuôi con nuôi trong nước" in text
    assert ADOPTION in text
    for heading in (
        "Thông tin chung",
        "Cách thức thực hiện, thời hạn và phí, lệ phí",
        "Thành phần hồ sơ",
        "Trình tự thực hiện",
        "Kết quả thực hiện",
        "Căn cứ pháp lý",
        "Dịch vụ công trực tuyến",
    ):
        assert heading in text
    assert "Quyết định công bố" in text and "Cơ quan công bố" in text and "Đối tượng thực hiện" in text


def test_procedure_page_shows_the_competent_authority_and_coordinating_agencies_when_it_has_them(
    catalog_client,
):
    body = catalog_client.get(f"/thu-tuc/{AIRFIELD}?lang=en").get_data(as_text=True)
    assert re.search(
        r"<dt>Competent authority</dt><dd lang=\"vi\"><ul class=\"plain\"><li>Bộ Tổng Tham mưu</li></ul>",
        body,
    )
    assert re.search(
        r"<dt>Coordinating agencies</dt><dd lang=\"vi\"><ul class=\"plain\">"
        r"<li>Bộ Xây dựng, Chủ tịch ủy ban nhân dân cấp tỉnh</li></ul>",
        body,
    )
    text = page(catalog_client.get(f"/thu-tuc/{AIRFIELD}")).text
    assert "Bộ Tổng Tham mưu" in text and "Bộ Xây dựng, Chủ tịch ủy ban nhân dân cấp tỉnh" in text
    birth = page(catalog_client.get(f"/thu-tuc/{BIRTH}?lang=en")).text
    assert "Competent authority" not in birth and "Coordinating agencies" not in birth


def test_procedure_page_shows_fees_in_dong_with_their_kind(catalog_client):
    text = page(catalog_client.get(f"/thu-tuc/{ADOPTION}")).text
    assert "Lệ phí: 400.000 đ" in text
    assert re.search(r"\d+ ngày làm việc", text)

    text = page(catalog_client.get(f"/thu-tuc/{FOREIGN_ADOPTION}")).text
    assert "9.000.000 đ" in text


def test_procedure_page_shows_a_free_service_as_free_and_a_fee_in_usd_as_usd(catalog_client):
    assert "Phí: Miễn phí" in page(catalog_client.get(f"/thu-tuc/{BIRTH}")).text
    assert "10 USD" in page(catalog_client.get(f"/thu-tuc/{PASSPORT_FEE_IN_USD}")).text


def test_procedure_page_lists_documents_with_copies_templates_required_marker_and_notes(catalog_client):
    html = page(catalog_client.get(f"/thu-tuc/{ADOPTION}"))
    assert "Bản chính: 1" in html.text
    assert "Bản sao:" in html.text
    assert "Bắt buộc" in html.text
    assert "Mẫu đơn, tờ khai:" in html.text
    birth = page(catalog_client.get(f"/thu-tuc/{BIRTH}"))
    assert birth.find("li", class_="doc doc--note")
    assert "Lưu ý:" in birth.text
    assert "Giấy tờ phải nộp" in birth.text  # the documents' case is a heading


def test_procedure_page_shows_the_legal_basis_and_the_result(catalog_client):
    html = page(catalog_client.get(f"/thu-tuc/{BIRTH}"))
    assert html.find("ul", class_="legal")
    assert re.search(r"\d+/\d{4}/(QH|NĐ-CP|TT)", html.text)
    assert html.find("section", id="results")


def test_procedure_page_offers_filing_online_at_each_agency_that_offers_it(catalog_client):
    html = page(catalog_client.get(f"/thu-tuc/{BIRTH}"))
    file_links = [href for href in html.links() if re.fullmatch(r"/dich-vu/\d+/nop-ho-so", href)]
    assert len(file_links) == 10
    assert "Nộp hồ sơ trực tuyến" in html.text
    assert "Ủy ban nhân dân Thành phố Hà Nội" in html.text
    assert "Trực tuyến mức độ 4" in html.text and "Toàn trình" in html.text
    assert "Không thanh toán trực tuyến" in html.text


def test_a_procedure_offered_by_one_agency_has_a_direct_file_online_button(catalog_client):
    html = page(catalog_client.get("/thu-tuc/1.000757"))  # Cấp lại thẻ căn cước at the ministry
    callout = [a for a in html.find("a", class_="button button--start")]
    assert re.fullmatch(r"/dich-vu/\d+/nop-ho-so", callout[0]["href"])


def test_a_procedure_not_offered_online_has_no_file_online_link(catalog_client):
    html = page(catalog_client.get(f"/thu-tuc/{FOREIGN_ADOPTION}"))
    assert not [href for href in html.links() if href.startswith("/dich-vu/")]
    assert not html.find("section", id="online")


def test_procedure_page_links_to_its_source_on_the_national_database(catalog_client):
    html = page(catalog_client.get(f"/thu-tuc/{BIRTH}"))
    assert any(href.startswith("https://dichvucong.gov.vn/") for href in html.links())


def test_procedure_page_in_english_has_english_chrome_and_says_details_are_in_vietnamese(catalog_client):
    html = page(catalog_client.get(f"/thu-tuc/{ADOPTION}?lang=en"))
    assert "Documents to prepare" in html.text
    assert "Charge: 400.000 đ" in html.text
    assert "published in Vietnamese only" in html.text
    assert html.find("h1", lang="vi")


def test_an_unknown_procedure_code_gets_a_404_page_in_the_portal_layout(catalog_client):
    response = catalog_client.get("/thu-tuc/9.999999")
    assert response.status_code == 404
    html = page(response)
    assert "Lỗi 404" in html.text
    assert "Trang bạn tìm không tồn tại" in html.text
    assert "/" in html.links()
    assert html.find("a", class_="skip-link")


def test_a_very_long_procedure_code_gets_a_404_page(catalog_client):
    assert catalog_client.get("/thu-tuc/" + "1" * 5000).status_code == 404


def test_a_retired_procedure_shows_a_notice_and_cannot_be_filed(app, client, tmp_path):
    from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE, PROVINCES_FILE
    from services_catalog.importer import import_catalog

    records = {r["MATTHC"]: r for r in json.loads(PROCEDURES_FILE.read_text(encoding="utf-8"))}
    both, one = tmp_path / "both.json", tmp_path / "one.json"
    both.write_text(json.dumps([records[BIRTH], records["1.000894"]]), encoding="utf-8")
    one.write_text(json.dumps([records["1.000894"]]), encoding="utf-8")
    import_catalog(both, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE)
    import_catalog(one)  # a full import without it retires the birth registration

    response = client.get(f"/thu-tuc/{BIRTH}")
    assert response.status_code == 200
    html = page(response)
    assert "Thủ tục này không còn hiệu lực" in html.text
    assert not [href for href in html.links() if href.startswith("/dich-vu/")]
    assert BIRTH not in result_codes(client.get("/thu-tuc?q=khai+sinh"))


# --- the layout on every page ------------------------------------------------------------

PAGES = ["/", "/?lang=en", "/thu-tuc?q=khai+sinh", "/thu-tuc?page=abc", f"/thu-tuc/{BIRTH}", "/thu-tuc/nope"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_lang_a_skip_link_to_main_one_h1_and_labelled_controls(catalog_client, url):
    html = page(catalog_client.get(url))
    assert html.find("html")[0]["lang"] in ("vi", "en")
    skip = html.find("a", class_="skip-link")
    assert skip and skip[0]["href"] == "#main"
    assert html.find("main", id="main")
    assert len(html.find("h1")) == 1
    labelled = {a["for"] for a in html.find("label")}
    for tag in ("input", "select"):
        for control in html.find(tag):
            if control.get("type") == "hidden":
                continue
            assert control.get("id") in labelled, f"{tag} {control} has no label"
    assert html.find("nav", **{"aria-label": "Ngôn ngữ"}) or html.find("nav", **{"aria-label": "Language"})


@pytest.mark.parametrize("url", PAGES)
def test_every_page_works_under_the_content_security_policy(catalog_client, url):
    response = catalog_client.get(url)
    body = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script" not in body
    assert "<style" not in body
    assert not re.search(r"\sstyle=", body)
    assert not re.search(r"\son[a-z]+=", body)
    assert not re.search(r"(src|href)=\"https?://(?!dichvucong\.gov\.vn)", body), "no third-party assets"


def test_the_stylesheet_is_served_by_the_static_route(catalog_client):
    html = page(catalog_client.get("/"))
    href = html.find("link", rel="stylesheet")[0]["href"]
    response = catalog_client.get(href)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert b":focus-visible" in response.data


# --- formatting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang,timing,expected",
    [
        ("vi", {"amount": 5, "unit": "working_day"}, "5 ngày làm việc"),
        ("vi", {"amount": 0.5, "unit": "working_day"}, "0,5 ngày làm việc"),
        ("vi", {"amount": 30, "unit": "day"}, "30 ngày"),
        ("vi", {"amount": 24, "unit": "hour"}, "24 giờ"),
        ("vi", {"amount": 1100.0, "unit": "day"}, "1.100 ngày"),
        ("en", {"amount": 1, "unit": "working_day"}, "1 working day"),
        ("en", {"amount": 5, "unit": "working_day"}, "5 working days"),
        ("en", {"amount": 0.5, "unit": "day"}, "0.5 days"),
        ("en", {"amount": 8, "unit": "hour"}, "8 hours"),
        ("en", {"amount": 3, "unit": None}, "3 (no unit given)"),
        ("en", {"amount": None, "unit": None}, None),
    ],
)
def test_processing_times_are_put_in_words(catalog_app, lang, timing, expected):
    from portal.catalog.views import duration

    with catalog_app.test_request_context(f"/?lang={lang}"):
        assert duration(timing) == expected


@pytest.mark.parametrize(
    "amount,expected",
    [
        (0, "0 đ"),
        (500, "500 đ"),
        (100000, "100.000 đ"),
        (4500000, "4.500.000 đ"),
        (1234567890, "1.234.567.890 đ"),
    ],
)
def test_money_is_shown_in_dong_with_dots_between_thousands(amount, expected):
    from portal.catalog.views import dong

    assert dong(amount) == expected


def test_the_page_window_shows_first_last_and_neighbours_with_gaps():
    from portal.catalog.views import page_window

    assert page_window(1, 1) == [1]
    assert page_window(1, 4) == [1, 2, 3, 4]
    assert page_window(10, 26) == [1, None, 8, 9, 10, 11, 12, None, 26]
    assert page_window(26, 26) == [1, None, 24, 25, 26]


# --- translations ------------------------------------------------------------------------


def _catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file, locale=lang)


def test_every_message_of_the_vietnamese_catalog_is_translated():
    untranslated = []
    for message in _catalog("vi"):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings) or message.fuzzy:
            untranslated.append(message.id)
    assert untranslated == []


def test_every_message_in_the_code_is_in_the_vietnamese_and_english_catalogs():
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    in_code = {
        (msgid[0] if isinstance(msgid, tuple) else msgid)
        for _, _, msgid, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
    }
    for lang in ("vi", "en"):
        known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _catalog(lang) if m.id}
        assert sorted(in_code - known) == [], (
            f"messages missing from the {lang} catalog: run pybabel extract and update (see babel.cfg), "
            "then translate them"
        )


def test_placeholders_survive_translation():
    for message in _catalog("vi"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for translated in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", translated)) == wanted, message.id


def test_a_flashed_message_is_shown_once_to_the_visitor_it_was_meant_for(catalog_client):
    with catalog_client.session_transaction() as session:
        session["_flashes"] = [("success", "Bạn đã đăng xuất.")]
    html = page(catalog_client.get("/"))
    assert [a for a in html.find("div", role="status") if "alert--success" in a["class"]]
    assert "Bạn đã đăng xuất." in html.text
    assert "Bạn đã đăng xuất." not in page(catalog_client.get("/")).text


def test_anonymous_catalog_pages_start_no_session(catalog_client):
    response = catalog_client.get("/thu-tuc?q=khai+sinh")
    assert "opendvc_session" not in response.headers.get("Set-Cookie", "")


def test_the_menu_offers_sign_in_to_a_visitor_who_is_not_signed_in(catalog_client):
    html = page(catalog_client.get("/"))
    assert "/tai-khoan/dang-nhap" in html.links()
    assert "Đăng nhập" in html.text
