"""A citizen's way through the catalog in a real browser, with JavaScript playing no part."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

BIRTH = "1.001193"


def query_of(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def test_a_citizen_searches_from_the_home_page_and_opens_the_procedure(page):
    page.goto("/")
    page.get_by_label("Tìm kiếm thủ tục hành chính").fill("dang ky khai sinh")
    page.get_by_role("button", name="Tìm kiếm").click()

    page.wait_for_url(re.compile(r"/thu-tuc\?"))
    assert query_of(page)["q"] == ["dang ky khai sinh"]
    first = page.locator(".results .card__title a").first
    assert first.inner_text() == "Thủ tục đăng ký khai sinh"

    first.click()
    page.wait_for_url(f"**/thu-tuc/{BIRTH}")
    assert page.locator("h1").inner_text() == "Thủ tục đăng ký khai sinh"
    file_online = page.get_by_role("link", name=re.compile("^Nộp hồ sơ trực tuyến"))
    assert file_online.count() == 10
    assert re.fullmatch(r"/dich-vu/\d+/nop-ho-so", file_online.first.get_attribute("href"))


def test_applying_a_filter_narrows_the_results_and_keeps_the_query(page):
    page.goto("/thu-tuc?q=dang+ky")
    before = int(re.search(r"\d+", page.locator("#results-title").inner_text()).group())

    page.get_by_label("Cấp thực hiện").select_option("commune")
    page.get_by_label("Chỉ dịch vụ công trực tuyến toàn trình").check()
    page.get_by_role("button", name="Lọc kết quả").click()

    page.wait_for_url(re.compile(r"level=commune"))
    assert query_of(page)["q"] == ["dang ky"]
    assert query_of(page)["full_online"] == ["1"]
    after = int(re.search(r"\d+", page.locator("#results-title").inner_text()).group())
    assert 0 < after < before
    assert page.get_by_label("Cấp thực hiện").input_value() == "commune"
    assert page.get_by_label("Chỉ dịch vụ công trực tuyến toàn trình").is_checked()


def test_switching_to_english_shows_english_chrome_on_every_page_after(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_role("navigation", name="Ngôn ngữ").get_by_role("link", name="English").click()

    page.wait_for_url(re.compile(r"lang=en"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Find a public service"
    english = page.get_by_role("navigation", name="Language").get_by_role("link", name="English")
    assert english.get_attribute("aria-current") == "true"

    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Administrative procedures"
    ).click()
    page.wait_for_url(re.compile(r"/thu-tuc$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Apply filters").is_visible()


def test_the_skip_link_is_the_first_tab_stop_and_leads_to_the_main_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0, "the skip link is visible when focused"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")


def test_pages_fit_a_phone_screen_without_horizontal_scrolling(new_page):
    page = new_page(width=360, height=740)
    too_wide = {}
    for url in (
        "/",
        "/thu-tuc?q=khai+sinh",
        "/thu-tuc?page=abc",
        f"/thu-tuc/{BIRTH}",
        "/thu-tuc/2.001263",
        "/thu-tuc/1.013225",
        "/thu-tuc/khong-co",
        "/?lang=en",
    ):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            too_wide[url] = width
    assert too_wide == {}


def test_pages_load_their_stylesheet_without_console_errors(page):
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("response", lambda response: response.status >= 400 and problems.append(response.url))
    for url in ("/", f"/thu-tuc/{BIRTH}"):
        page.goto(url)
        assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).display") == "block"
        header = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
        assert header != "rgba(0, 0, 0, 0)", "the stylesheet applied"
    assert problems == []
