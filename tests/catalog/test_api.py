"""The catalog's JSON API under /api/v1, against the 518 real bundled procedures."""

import math

import pytest

SEARCH = "/api/v1/procedures"
BIRTH_REGISTRATION = "1.001193"  # Thủ tục đăng ký khai sinh


def search(client, **params):
    response = client.get(SEARCH, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_error_shape(response, status_code: int, token: str) -> list[dict]:
    assert response.status_code == status_code
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"status_code", "errors"}
    assert body["status_code"] == status_code
    assert body["errors"], "an error answer names at least one error"
    for error in body["errors"]:
        # "field" names the parameter at fault, when there is one (an optional addition).
        assert set(error) - {"field"} == {"error", "message"}
        assert error["error"] == token
        assert isinstance(error["message"], str) and error["message"]
    return body["errors"]


# ------------------------------------------------------------------------------- search


def test_search_ignores_case_and_diacritics_and_ranks_the_shortest_exact_phrase_first(catalog_client):
    plain = search(catalog_client, q="dang ky khai sinh")
    accented = search(catalog_client, q="ĐĂNG KÝ Khai Sinh")
    assert plain == accented
    assert plain["total"] == 9
    assert plain["items"][0]["code"] == BIRTH_REGISTRATION
    assert plain["items"][0]["name"] == "Thủ tục đăng ký khai sinh"


def test_search_by_a_procedure_code_puts_that_procedure_first(catalog_client):
    assert search(catalog_client, q=BIRTH_REGISTRATION)["items"][0]["code"] == BIRTH_REGISTRATION


def test_search_requires_every_word_and_answers_an_empty_page_when_nothing_matches(catalog_client):
    result = search(catalog_client, q="khai sinh xyzzyqux")
    assert result == {"items": [], "total": 0, "page": 1, "per_page": 20, "pages": 1}


def test_search_without_words_lists_every_active_procedure_with_default_paging(catalog_client):
    result = search(catalog_client)
    assert result["total"] == 518
    assert (result["page"], result["per_page"], result["pages"]) == (1, 20, 26)
    assert len(result["items"]) == 20
    assert set(result["items"][0]) == {
        "code",
        "name",
        "levels",
        "fields",
        "publisher",
        "publisher_name",
        "processing_days",
        "online_level",
        "full_online",
        "active",
    }


def test_level_field_and_online_filters_each_narrow_the_results_to_matching_procedures(catalog_client):
    everything = search(catalog_client)["total"]
    result = search(
        catalog_client, level="commune", field="ho-tich", online_level=4, full_online="true", per_page=100
    )
    assert 0 < result["total"] < everything
    for item in result["items"]:
        assert "commune" in item["levels"]
        assert "ho-tich" in [f["code"] for f in item["fields"]]
        assert item["online_level"] == 4
        assert item["full_online"] is True
    assert BIRTH_REGISTRATION in [item["code"] for item in result["items"]]


def test_online_level_3_and_4_split_the_procedures_offered_online(catalog_client):
    level3 = search(catalog_client, online_level=3)["total"]
    level4 = search(catalog_client, online_level=4)["total"]
    assert level3 > 0 and level4 > 0
    assert search(catalog_client, full_online="false")["total"] == 518


def test_the_agency_filter_includes_the_agencies_below_it(catalog_client):
    ministry = search(catalog_client, agency="000.00.00.G15", q="khai sinh")
    assert BIRTH_REGISTRATION in [item["code"] for item in ministry["items"]]
    # Hà Nội's people's committee: procedures offered online there or at its departments.
    hanoi = search(catalog_client, agency="000.00.00.H26", online_level=4, per_page=100)
    assert hanoi["total"] > 0
    assert all(item["online_level"] == 4 for item in hanoi["items"])


def test_an_unknown_agency_or_field_is_a_filter_that_matches_nothing_not_an_error(catalog_client):
    assert search(catalog_client, agency="000.00.00.X99")["total"] == 0
    assert search(catalog_client, field="khong-co-linh-vuc-nay")["total"] == 0


def test_unknown_query_parameters_are_ignored(catalog_client):
    assert search(catalog_client, q="khai sinh", sort="name", utm_source="x") == search(
        catalog_client, q="khai sinh"
    )


# ---------------------------------------------------------------------------- pagination


def test_consecutive_pages_do_not_overlap_and_agree_on_the_total(catalog_client):
    first = search(catalog_client, q="giay phep", per_page=5, page=1)
    second = search(catalog_client, q="giay phep", per_page=5, page=2)
    assert first["total"] == second["total"] > 10
    assert first["pages"] == math.ceil(first["total"] / 5)
    assert not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}


def test_a_page_beyond_the_last_answers_no_items_with_the_total(catalog_client):
    result = search(catalog_client, q="dang ky khai sinh", page=500)
    assert result["items"] == []
    assert result["total"] == 9
    assert result["page"] == 500
    assert result["pages"] == 1


def test_empty_parameters_as_a_search_form_sends_them_mean_the_defaults(catalog_client):
    empty = {
        name: ""
        for name in ("q", "level", "agency", "field", "online_level", "full_online", "page", "per_page")
    }
    assert search(catalog_client, **empty) == search(catalog_client)


def test_the_largest_page_and_page_size_are_accepted(catalog_client):
    result = search(catalog_client, page=10000, per_page=100)
    assert (result["page"], result["per_page"], result["items"]) == (10000, 100, [])
    assert len(search(catalog_client, per_page=100)["items"]) == 100


@pytest.mark.parametrize("per_page", ["0", "101", "abc", "-1", "1.5", "1e2"])
def test_a_bad_per_page_answers_400_in_the_error_shape(catalog_client, per_page):
    errors = assert_error_shape(
        catalog_client.get(SEARCH, query_string={"per_page": per_page}), 400, "ValidationError"
    )
    assert [e["field"] for e in errors] == ["per_page"]
    assert "per_page" in errors[0]["message"]


@pytest.mark.parametrize("page", ["0", "10001", "x", "99999999999999999999999"])
def test_a_bad_page_answers_400_in_the_error_shape(catalog_client, page):
    errors = assert_error_shape(
        catalog_client.get(SEARCH, query_string={"page": page}), 400, "ValidationError"
    )
    assert [e["field"] for e in errors] == ["page"]


def test_every_bad_parameter_gets_its_own_error_entry(catalog_client):
    response = catalog_client.get(
        SEARCH,
        query_string={
            "q": "x" * 201,
            "level": "moon",
            "online_level": "5",
            "full_online": "maybe",
            "page": "abc",
            "per_page": "0",
            "agency": "A" * 33,
            "field": "f" * 65,
        },
    )
    errors = assert_error_shape(response, 400, "ValidationError")
    named = sorted(e["field"] for e in errors)
    assert named == sorted(
        ["q", "level", "online_level", "full_online", "page", "per_page", "agency", "field"]
    )


# ------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize("q", ["%", "_", "%%%", "\\", "%_%"])
def test_like_wildcards_alone_in_q_match_nothing_rather_than_everything(catalog_client, q):
    assert search(catalog_client, q=q)["total"] == 0


@pytest.mark.parametrize("q", ["khai%sinh", "khai_sinh", "khai\\sinh", "%khai sinh%"])
def test_like_wildcards_between_words_are_plain_punctuation(catalog_client, q):
    assert search(catalog_client, q=q)["total"] == search(catalog_client, q="khai sinh")["total"]


@pytest.mark.parametrize(
    "q", ["'; DROP TABLE procedures; --", '" OR 1=1 --', "khai' sinh", "<script>alert(1)</script>"]
)
def test_quotes_and_markup_in_q_are_searched_for_as_text(catalog_client, q):
    result = search(catalog_client, q=q)
    assert result["total"] <= 518
    assert search(catalog_client)["total"] == 518  # nothing was dropped


def test_a_10_kb_query_answers_400_in_the_error_shape(catalog_client):
    errors = assert_error_shape(
        catalog_client.get(SEARCH, query_string={"q": "khai sinh " * 1024}), 400, "ValidationError"
    )
    assert errors == [
        {"error": "ValidationError", "field": "q", "message": "q must be at most 200 characters"}
    ]


def test_a_query_of_exactly_200_characters_is_accepted(catalog_client):
    assert search(catalog_client, q="a" * 200)["total"] == 0


def test_a_nul_character_in_any_text_parameter_answers_400_not_500(catalog_client):
    for name in ("q", "agency", "field"):
        response = catalog_client.get(SEARCH, query_string={name: "khai\x00sinh"})
        assert [e["field"] for e in assert_error_shape(response, 400, "ValidationError")] == [name]


def test_undecodable_percent_escapes_in_q_do_not_break_the_search(catalog_client):
    response = catalog_client.get(SEARCH + "?q=%ff%fe%c3")
    assert response.status_code == 200


# --------------------------------------------------------------------------- procedure


def test_a_procedure_is_answered_whole(catalog_client):
    response = catalog_client.get(f"/api/v1/procedures/{BIRTH_REGISTRATION}")
    assert response.status_code == 200
    procedure = response.get_json()
    assert procedure["code"] == BIRTH_REGISTRATION
    assert procedure["name"] == "Thủ tục đăng ký khai sinh"
    assert procedure["publisher"] == "000.00.00.G15"
    assert {c["channel"] for c in procedure["channels"]} == {1, 2, 3}
    assert any(d["required"] for d in procedure["documents"])
    assert {"code": "KQ.G15.000031", "name": "Giấy khai sinh"} in procedure["results"]
    assert "000.00.00.H26" in {s["agency_code"] for s in procedure["online_services"]}
    assert procedure["retired_at"] is None


@pytest.mark.parametrize("code", ["9.999999", "x" * 65, "1.001193 ", "%00", "..%2F..%2Fetc"])
def test_an_unknown_procedure_code_answers_404_in_the_error_shape(catalog_client, code):
    response = catalog_client.get(f"/api/v1/procedures/{code}")
    errors = assert_error_shape(response, 404, "NotFound")
    assert "Cache-Control" not in response.headers or "public" not in response.headers["Cache-Control"]
    assert len(errors) == 1


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize("path", [SEARCH, f"/api/v1/procedures/{BIRTH_REGISTRATION}", "/api/v1/agencies"])
def test_writing_to_the_read_only_catalog_answers_405_in_the_error_shape_with_allow(catalog_client, path):
    for method in ("post", "put", "delete", "patch"):
        response = getattr(catalog_client, method)(path, json={"name": "x"})
        assert_error_shape(response, 405, "MethodNotAllowed")
        assert "GET" in response.headers["Allow"]


def test_head_answers_like_get_without_a_body(catalog_client):
    response = catalog_client.head(SEARCH)
    assert response.status_code == 200
    assert response.data == b""


# ------------------------------------------------------------------------- caching


@pytest.mark.parametrize(
    "path",
    [
        SEARCH + "?q=khai+sinh",
        f"/api/v1/procedures/{BIRTH_REGISTRATION}",
        "/api/v1/agencies",
        "/api/v1/fields",
        "/api/v1/provinces",
    ],
)
def test_catalog_reads_may_be_cached_publicly_for_a_minute_and_set_no_cookie(catalog_client, path):
    response = catalog_client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")
    assert "Set-Cookie" not in response.headers


def test_error_answers_are_not_cached_publicly(catalog_client):
    response = catalog_client.get(SEARCH, query_string={"per_page": "0"})
    assert response.status_code == 400
    assert "public" not in response.headers.get("Cache-Control", "")


# ------------------------------------------------------------------------------ lists


def test_agencies_list_every_agency_including_those_closed_by_reorganisation(catalog_client):
    response = catalog_client.get("/api/v1/agencies")
    items = response.get_json()["items"]
    assert len(items) == 46
    by_code = {a["code"] or a["portal_code"]: a for a in items}
    assert by_code["000.00.00.G15"]["name"] == "Bộ Tư pháp"
    assert by_code["000.00.00.G15"]["active"] is True
    closed = by_code["000.00.00.G04"]
    assert (closed["active"], closed["valid_to"]) == (False, "2025-03-01")
    assert by_code["H26.4"]["parent_code"] == "000.00.00.H26"


def test_fields_list_every_field_with_its_number_of_active_procedures(catalog_client):
    items = catalog_client.get("/api/v1/fields").get_json()["items"]
    assert len(items) == 111
    assert {"code": "ho-tich", "name": "Hộ tịch", "procedures": 24} in items
    assert len({f["code"] for f in items}) == len(items)


def test_provinces_list_the_34_provinces_of_2025_with_what_formed_them(catalog_client):
    items = catalog_client.get("/api/v1/provinces").get_json()["items"]
    assert len(items) == 34
    hcmc = next(p for p in items if p["code"] == "79")
    assert hcmc["merged"] is True
    assert "Bình Dương" in hcmc["formed_from"]
    assert hcmc["agency_code"] == "000.00.00.H29"


def test_the_catalog_api_answers_empty_lists_on_an_empty_catalog(client):
    assert client.get(SEARCH).get_json() == {"items": [], "total": 0, "page": 1, "per_page": 20, "pages": 1}
    for path in ("/api/v1/agencies", "/api/v1/fields", "/api/v1/provinces"):
        assert client.get(path).get_json() == {"items": []}
    assert_error_shape(client.get(f"/api/v1/procedures/{BIRTH_REGISTRATION}"), 404, "NotFound")
