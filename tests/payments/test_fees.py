"""What filing online charges, from real procedures of the bundled catalog: fee entries
that are alternatives or conditional are never added up or guessed (nothing is charged at
filing; the agency asks with status 6), unambiguous ones are charged as stated."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal.payments.fees import online_fees
from services_catalog.parsing import parse_procedure
from tests.payments.support import bundled_record


def procedure(code: str) -> SimpleNamespace:
    """The procedure as the catalog stores it (channels parsed by the real importer)."""
    return SimpleNamespace(channels=parse_procedure(bundled_record(code)).values["channels"])


def charged(proc) -> list[tuple[str, int]]:
    return [(fee["kind"], fee["amount"]) for fee in online_fees(proc)]


def test_two_fees_of_one_kind_are_alternatives_and_are_not_added_up():
    # 1.004594 Công nhận hạng cơ sở lưu trú du lịch: 1.500.000 đ for 1-2 stars *or*
    # 2.000.000 đ for 3 stars. Adding them up charged 3.500.000 đ.
    assert charged(procedure("1.004594")) == []


@pytest.mark.parametrize(
    "code, why",
    [
        ("1.000688", "800.000 đ stated, 400.000 đ applies until 31/12/2026"),
        ("2.000822", "4.500.000 đ stated, 2.250.000 đ applies until 31/12/2026"),
        ("1.014903", "50.000 đ stated, 25.000 đ applies until 31/12/2026"),
        ("2.002516", "exempt for families of revolutionary contributors, poor households, the disabled"),
        ("2.001263", "exempt for step-parents, relatives, children with disabilities"),
        ("2.001194", "50% of the rate when filed online"),
        ("1.001456", "160.000 đ, or 320.000 đ for a damaged or lost passport"),
        ("1.001471", "200.000 đ on both online paths, or 400.000 đ for a damaged or lost passport"),
        ("1.013540", "2.000.000 đ, 3.500.000 đ, 4.000.000 đ or 5.000.000 đ by purpose"),
        ("1.001612", "set by each provincial people's council"),
        ("1.002755", "5.000 đ stated, 7.000 đ when filed online"),
        ("1.013217", "45 (thousands of đồng) stated, a dated rate"),
        ("3.000337", "100 (thousands of đồng) stated"),
    ],
)
def test_a_fee_that_depends_on_the_case_the_date_or_the_applicant_is_not_charged_at_filing(code, why):
    assert charged(procedure(code)) == [], why


@pytest.mark.parametrize(
    "code, expected",
    [
        ("2.001583", [("phi", 100_000)]),  # Đăng ký thành lập công ty TNHH một thành viên
        ("1.004222", [("unspecified", 10_000)]),  # Đăng ký thường trú: the online rate, as stated
        ("1.003930", [("unspecified", 70_000)]),  # Cấp lại Giấy chứng nhận đăng ký phương tiện
        ("1.012906", [("phi", 300_000)]),  # Cấp mới chứng chỉ hành nghề môi giới bất động sản
        ("1.002031", [("unspecified", 5_000_000)]),  # cấp lại Giấy phép trung gian thanh toán
    ],
)
def test_a_single_unconditional_fee_is_charged_as_stated(code, expected):
    assert charged(procedure(code)) == expected


def _with_online_fees(code: str, *timings: list[dict]) -> SimpleNamespace:
    """Procedure ``code`` with one online channel, whose timings have these fees (PHILEPHI)."""
    record = bundled_record(code)
    online = next(c for c in record["CACHTHUCTHUCHIEN"] if str(c["KENH"]) == "2")
    template = online["THOIGIAN"][0]
    online["THOIGIAN"] = [{**template, "PHILEPHI": fees} for fees in timings]
    record["CACHTHUCTHUCHIEN"] = [
        c for c in record["CACHTHUCTHUCHIEN"] if str(c["KENH"]) != "2" or c is online
    ]
    return SimpleNamespace(channels=parse_procedure(record).values["channels"])


def test_one_phi_and_one_le_phi_are_added_up():
    proc = _with_online_fees(
        "2.001583",
        [
            {"SOTIEN": 100_000, "DONVI": "Đồng", "MOTA": "Phí công bố nội dung đăng ký doanh nghiệp"},
            {"SOTIEN": 50_000, "DONVI": "Đồng", "MOTA": "Lệ phí đăng ký doanh nghiệp"},
        ],
    )
    assert sorted(charged(proc)) == [("le_phi", 50_000), ("phi", 100_000)]


def test_an_unspecified_fee_beside_another_may_be_its_alternative_and_is_not_charged():
    proc = _with_online_fees(
        "1.003930",
        [
            {"SOTIEN": 70_000, "DONVI": "Đồng", "MOTA": "70.000 đồng/Giấy chứng nhận"},
            {"SOTIEN": 35_000, "DONVI": "Đồng", "MOTA": "35.000 đồng/Giấy chứng nhận"},
        ],
    )
    assert charged(proc) == []


def test_an_exemption_stated_as_a_free_line_of_the_same_kind_is_an_alternative():
    proc = _with_online_fees(
        "2.002516",
        [
            {"SOTIEN": 8_000, "DONVI": "Đồng", "MOTA": "Lệ phí: 8.000 đồng/văn bản"},
            {"SOTIEN": 0, "DONVI": "Đồng", "MOTA": "Lệ phí: hộ nghèo"},
        ],
    )
    assert charged(proc) == []


def test_online_paths_stating_the_same_fee_charge_it_once_and_paths_that_differ_charge_nothing():
    line = {"SOTIEN": 200_000, "DONVI": "Đồng", "MOTA": "200.000 đồng/hộ chiếu"}
    assert charged(_with_online_fees("1.001471", [line], [line])) == [("unspecified", 200_000)]
    other = {**line, "SOTIEN": 400_000, "MOTA": "400.000 đồng/hộ chiếu"}
    assert charged(_with_online_fees("1.001471", [line], [other])) == []
    assert charged(_with_online_fees("1.001471", [line], [])) == [("unspecified", 200_000)]
