"""The OpenAPI document: valid, complete, accurate, proven by schemathesis against the real catalog."""

import copy
import json
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from portal.apidocs import spec
from portal.catalog import schemas as catalog_schemas

SPEC = "/api/v1/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BASE = "urn:opendvc:openapi"


def _validator(doc: dict, schema: dict) -> Draft202012Validator:
    """A validator for ``schema`` whose ``#/components/...`` references resolve inside ``doc``."""
    registry = Registry().with_resource(BASE, Resource.from_contents(doc, default_specification=DRAFT202012))
    rebased = json.loads(json.dumps(schema).replace('"#/components/', f'"{BASE}#/components/'))
    return Draft202012Validator(
        rebased, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _component(doc: dict, name: str) -> Draft202012Validator:
    return _validator(doc, {"$ref": f"#/components/schemas/{name}"})


def _closed(doc: dict) -> dict:
    """``doc`` with every object schema closed, to catch fields the API sends but the document omits."""
    doc = copy.deepcopy(doc)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(doc["components"]["schemas"])
    return doc


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


@pytest.fixture(scope="module")
def doc(catalog_app):
    response = catalog_app.test_client().get(SPEC)
    assert response.status_code == 200
    return response.get_json()


# ------------------------------------------------------------------------- the document


def test_the_document_is_served_as_openapi_3_1_json_describing_the_portal_api(catalog_client):
    response = catalog_client.get(SPEC)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "public" in response.headers["Cache-Control"]
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "OpenDVC API"
    assert doc["info"]["version"] == "1.0.0"
    assert doc["info"]["description"]
    assert doc["servers"] == [{"url": "/"}]
    assert "/api/docs" in doc["info"]["description"]


def test_the_document_conforms_to_the_openapi_meta_schema(catalog_app):
    loaded = schemathesis.openapi.from_wsgi(SPEC, catalog_app)
    loaded.validate()  # raises on any violation of the OpenAPI 3.1 meta-schema
    assert loaded.raw_schema == spec.document()


def test_the_validation_really_rejects_a_broken_document(doc):
    broken = copy.deepcopy(doc)
    broken["paths"]["/api/v1/agencies"]["get"]["responses"] = "all fine"
    with pytest.raises(Exception):  # noqa: B017 - jsonschema_rs.ValidationError
        schemathesis.openapi.from_dict(broken).validate()


def test_every_component_schema_is_valid_json_schema_2020_12_and_every_reference_resolves(doc):
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', text)):
        assert ref.startswith("#/"), ref
        assert spec.resolve(doc, {"$ref": ref}) is not None


def test_every_api_v1_route_is_documented_and_every_documented_operation_exists(catalog_app, doc):
    routes = set()
    for rule in catalog_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((re.sub(r"<[^>]+>", "{}", rule.rule), method.lower()))
    documented = {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, method, _ in _operations(doc)}
    assert routes == documented


def test_every_operation_has_an_id_a_summary_and_documents_its_answers(doc):
    ids = []
    for path, method, op in _operations(doc):
        ids.append(op["operationId"])
        assert op["summary"] and op["tags"], (method, path)
        responses = op["responses"]
        assert "200" in responses
        for status, response in responses.items():
            response = spec.resolve(doc, response)
            media = response["content"]["application/json"]
            if status.startswith(("4", "5")):
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert len(ids) == len(set(ids))


def test_search_parameters_carry_the_same_limits_as_the_validation(doc):
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/procedures"]["get"]["parameters"]}
    assert set(params) == {"q", "level", "agency", "field", "online_level", "full_online", "page", "per_page"}
    assert params["q"]["maxLength"] == 200
    assert (params["page"]["minimum"], params["page"]["maximum"]) == (1, 10000)
    assert (params["per_page"]["minimum"], params["per_page"]["maximum"]) == (1, 100)
    assert params["level"]["enum"] == ["central", "province", "district", "commune", "other"]
    assert params["online_level"]["enum"] == [3, 4]
    assert params["full_online"]["type"] == "boolean"


def test_every_example_in_the_document_is_valid_against_its_schema(doc):
    checked = 0
    for path, method, op in _operations(doc):
        for param in op.get("parameters", []):
            _validator(doc, param["schema"]).validate(param["example"])
            checked += 1
        for response in op["responses"].values():
            media = spec.resolve(doc, response)["content"]["application/json"]
            if "example" in media:
                _validator(_closed(doc), media["schema"]).validate(media["example"])
                checked += 1
    assert checked >= 20


def test_the_documented_examples_are_real_answers_of_the_api(catalog_client):
    page = catalog_client.get("/api/v1/procedures?q=đăng ký khai sinh&per_page=2").get_json()
    assert page == catalog_schemas.PAGE_EXAMPLE
    procedure = catalog_client.get("/api/v1/procedures/1.001193").get_json()
    # The example is the real record with its long lists cut short.
    for key, value in catalog_schemas.PROCEDURE_EXAMPLE.items():
        if key == "steps":
            real = {group["case"]: group["steps"] for group in procedure["steps"]}
            assert all(set(group["steps"]) <= set(real[group["case"]]) for group in value)
        elif key == "online_services":
            # Ids are the database's own; the rest is the record.
            real = [{k: v for k, v in s.items() if k != "id"} for s in procedure[key]]
            assert all({k: v for k, v in s.items() if k != "id"} in real for s in value)
        elif key in ("channels", "documents", "legal_basis"):
            assert all(item in procedure[key] for item in value), key
        else:
            assert procedure[key] == value, key
    assert (
        catalog_client.get("/api/v1/procedures?per_page=0").get_json() == catalog_schemas.BAD_PER_PAGE_EXAMPLE
    )
    assert (
        catalog_client.get("/api/v1/procedures/0.000000").get_json()
        == catalog_schemas.UNKNOWN_PROCEDURE_EXAMPLE
    )
    for path, example in [
        ("/api/v1/agencies", catalog_schemas.AGENCIES_EXAMPLE),
        ("/api/v1/fields", catalog_schemas.FIELDS_EXAMPLE),
        ("/api/v1/provinces", catalog_schemas.PROVINCES_EXAMPLE),
    ]:
        items = catalog_client.get(path).get_json()["items"]
        assert all(item in items for item in example["items"]), path


def test_every_bundled_record_matches_the_documented_schemas_with_no_undocumented_field(catalog_client, doc):
    import jsonschema_rs
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from portal.extensions import db
    from services_catalog.models import OnlineService, Procedure

    closed = _closed(doc)
    codes = []
    page_number = 1
    while True:
        page = catalog_client.get("/api/v1/procedures", query_string={"per_page": 100, "page": page_number})
        _component(closed, "ProcedurePage").validate(page.get_json())
        codes += [item["code"] for item in page.get_json()["items"]]
        if page_number >= page.get_json()["pages"]:
            break
        page_number += 1
    assert len(codes) == 518
    for path, name in [
        ("/api/v1/agencies", "AgencyList"),
        ("/api/v1/fields", "FieldList"),
        ("/api/v1/provinces", "ProvinceList"),
    ]:
        _component(closed, name).validate(catalog_client.get(path).get_json())
    # Every whole procedure, serialised as GET /api/v1/procedures/<code> does (one query here:
    # 518 requests would mostly measure the test client). jsonschema_rs for speed.
    procedures = db.session.scalars(
        sa.select(Procedure).options(
            selectinload(Procedure.fields),
            selectinload(Procedure.levels),
            selectinload(Procedure.publisher),
            selectinload(Procedure.online_services).selectinload(OnlineService.agency),
        )
    ).all()
    assert {p.code for p in procedures} == set(codes)
    bundled = json.loads(
        json.dumps(closed["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
    )
    validator = jsonschema_rs.validator_for({"$defs": bundled, "$ref": "#/$defs/Procedure"})
    assert not validator.is_valid({**procedures[0].serialize(), "undocumented": 1})  # the check can fail
    for p in procedures:
        errors = [e.message for e in validator.iter_errors(p.serialize())]
        assert not errors, (p.code, errors[:3])


def test_the_schemas_really_reject_a_record_that_breaks_them(doc):
    record = copy.deepcopy(catalog_schemas.PROCEDURE_EXAMPLE)
    record["online_level"] = 5
    assert list(_component(doc, "Procedure").iter_errors(record))
    record = copy.deepcopy(catalog_schemas.PROCEDURE_EXAMPLE)
    record["surprise"] = True
    assert list(_component(_closed(doc), "Procedure").iter_errors(record))


def test_the_document_is_assembled_from_domain_parts_and_refuses_clashing_names(monkeypatch):
    assert "portal.catalog.schemas" in spec.PARTS
    target = {"schemas": {"Procedure": {}}}
    with pytest.raises(ValueError, match="Procedure"):
        spec._merge(target, {"schemas": {"Procedure": {}}}, "portal.other.schemas")


# ---------------------------------------------------------------------- the docs page


def test_the_api_docs_page_renders_every_operation_readably_without_javascript(catalog_client, doc):
    response = catalog_client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert f'href="{SPEC}"' in html
    for path, method, op in _operations(doc):
        assert f'id="{op["operationId"]}"' in html
        assert f"<code>{path}</code>" in html
        assert op["summary"] in html
        for status in op["responses"]:
            assert f"<code>{status}</code>" in html
    # Parameters with their limits, schemas, and example JSON.
    assert "<code>per_page</code>" in html
    assert "1 to 100" in html and "at most 200 characters" in html
    assert 'id="schema-Procedure"' in html
    assert "Thủ tục đăng ký khai sinh" in html
    assert "per_page must be between 1 and 100" in html


def test_the_api_docs_page_escapes_what_it_renders(catalog_app):
    outline = spec.outline()
    outline["tags"][0]["operations"][0]["summary"] = "<b>not bold</b>"
    from flask import render_template

    with catalog_app.test_request_context("/api/docs"):
        html = render_template("apidocs/docs.html", api=outline)
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html


def test_the_api_description_is_public_by_declaration():
    from portal.security import GUARDS

    assert GUARDS["apidocs"] == "public_access"
    assert GUARDS["catalog_api"] == "public_access"


# ---------------------------------------------------------------------- schemathesis


# Built from the same function that serves the document (a test above proves they are equal),
# so schemathesis can make one test item per operation when pytest collects this module.
api = schemathesis.openapi.from_dict(spec.document())
OPERATIONS = {result.ok().label for result in api.get_all_operations()}


@pytest.fixture
def cases_run(request):
    """Counts the cases schemathesis ran for this operation; fails the test when it ran too few."""
    counts: Counter = Counter()
    yield counts
    assert counts, f"schemathesis ran no case for {request.node.name}"
    assert sum(counts.values()) >= MIN_CASES.get(next(iter(counts)), 1), counts


MIN_CASES = {"GET /api/v1/procedures": 100, "GET /api/v1/procedures/{code}": 20}


def test_schemathesis_sees_every_documented_operation(doc):
    assert OPERATIONS == {f"{method.upper()} {path}" for path, method, _ in _operations(doc)}


@api.parametrize()
@settings(
    max_examples=40, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
def test_schemathesis_finds_no_server_error_and_every_answer_matches_the_document(
    case, catalog_app, cases_run
):
    # Examples, boundary (coverage) and fuzzed cases, valid and invalid: no 5xx, documented
    # status codes and headers, bodies matching their schemas, invalid input refused with 4xx.
    case.call_and_validate(app=catalog_app)
    cases_run[case.operation.label] += 1
