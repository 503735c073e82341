"""The catalog's part of the portal's OpenAPI 3.1 document: its paths and component schemas.

``portal.apidocs.spec`` assembles the document from each domain's ``openapi_paths()`` and
``openapi_components()``. Parameter constraints are taken from ``portal.catalog.service``,
so the document and the validation cannot drift apart; response schemas follow the
``serialize()`` methods of ``services_catalog.models`` and the JSON shapes the importer
writes. Response objects are open (no ``additionalProperties: false``): partners build
against this, and fields are only ever added.

Shared pieces (the ``ErrorResponse`` schema, the ``RateLimited`` response, the
``Cache-Control`` and ``X-Request-Id`` headers) come from ``portal.apidocs.spec``.
"""

from __future__ import annotations

from typing import Any

from portal.catalog.service import LEVELS, MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_LENGTH

# Mirrors the limits in portal.catalog.service.parse_search_params.
MAX_AGENCY_CODE_LENGTH = 32
MAX_FIELD_CODE_LENGTH = 64
MAX_PROCEDURE_CODE_LENGTH = 64
DEFAULT_PER_PAGE = 20

# The service refuses NUL characters (PostgreSQL cannot store or compare them).
NO_NUL = "^[^\\u0000]*$"

TAG = "Catalog"
ONLINE_LEVELS = [3, 4]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    """``schema`` that also allows null (JSON Schema 2020-12 spelling, as OpenAPI 3.1 uses)."""
    nullable = dict(schema)
    kind = nullable.get("type")
    if kind is not None:
        nullable["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in nullable:
        nullable["enum"] = [*nullable["enum"], None]
    return nullable


def _object(properties: dict, description: str, *, optional: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "description": description,
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


def _text(description: str, **extra) -> dict:
    return {"type": "string", "description": description, **extra}


def _strings(description: str) -> dict:
    return {"type": "array", "description": description, "items": {"type": "string"}}


# ---------------------------------------------------------------------------- examples
# Real records of the bundled catalog (procedure 1.001193 is birth registration), with long
# lists cut short. tests/test_openapi.py checks them against the live API.

FIELD_EXAMPLE = {"code": "ho-tich", "name": "Hộ tịch"}


def _summary_example(code: str, name: str, days: int, online_level: int | None) -> dict:
    return {
        "code": code,
        "name": name,
        "levels": ["commune"],
        "fields": [FIELD_EXAMPLE],
        "publisher": "000.00.00.G15",
        "publisher_name": "Bộ Tư pháp",
        "processing_days": days,
        "online_level": online_level,
        "full_online": online_level == 4,
        "active": True,
    }


def _free_timing() -> dict:
    return {
        "amount": 1,
        "unit": None,
        "description": None,
        "fees": [{"kind": "phi", "amount": 0, "currency": "VND", "description": "Miễn phí"}],
    }


def _document_example(key: str, case: str, name: str) -> dict:
    return {
        "key": key,
        "case": case,
        "name": name,
        "originals": 1,
        "copies": 0,
        "templates": [],
        "required": True,
        "note": False,
    }


def _service_example(service_id: int, agency_code: str, agency_name: str) -> dict:
    return {
        "id": service_id,
        "agency_code": agency_code,
        "agency_name": agency_name,
        "level": 4,
        "full_online": True,
        "pays_online": False,
    }


def _agency_example(code, portal_code, name, level, parent_code=None, valid_to=None) -> dict:
    return {
        "code": code,
        "portal_code": portal_code,
        "name": name,
        "level": level,
        "parent_code": parent_code,
        "valid_from": None,
        "valid_to": valid_to,
        "active": valid_to is None,
    }


SUMMARY_EXAMPLE = _summary_example("1.001193", "Thủ tục đăng ký khai sinh", 1, 4)

PAGE_EXAMPLE = {
    "items": [SUMMARY_EXAMPLE, _summary_example("1.003583", "Thủ tục đăng ký khai sinh lưu động", 5, None)],
    "total": 9,
    "page": 1,
    "per_page": 2,
    "pages": 5,
}

PROCEDURE_EXAMPLE = {
    **SUMMARY_EXAMPLE,
    "decision_number": "163/QĐ-BTP",
    "kind": "TTHC được giao luật quy định chi tiết",
    "requirements": None,
    "source_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7",
    "channels": [
        {"channel": 2, "name": "Trực tuyến", "timings": [_free_timing()]},
        {"channel": 1, "name": "Trực tiếp", "timings": [_free_timing()]},
    ],
    "documents": [
        _document_example(
            "aeee0d94e022",
            "* Giấy tờ phải nộp:",
            "- Giấy chứng sinh; trường hợp không có Giấy chứng sinh thì nộp văn bản của người "
            "làm chứng xác nhận về việc sinh; nếu không có người làm chứng thì phải có giấy cam "
            "đoan về việc sinh.",
        ),
        _document_example(
            "2a7b9d33b727",
            "",
            "- Tờ khai đăng ký khai sinh theo mẫu (nếu người có yêu cầu lựa chọn nộp hồ sơ theo "
            "hình thức trực tiếp hoặc gửi hồ sơ qua hệ thống bưu chính);",
        ),
    ],
    "steps": [
        {
            "case": "",
            "steps": [
                "- Cán bộ tiếp nhận hồ sơ tại Trung tâm Phục vụ hành chính công có trách "
                "nhiệm kiểm tra tính chính xác, đầy đủ, thống nhất, hợp lệ của hồ sơ."
            ],
        }
    ],
    "legal_basis": [
        {
            "number": "123/2015/NĐ-CP",
            "title": "Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ quy "
            "định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch",
        },
        {"number": "04/2024/TT-BTP", "title": None},
    ],
    "results": [{"code": "KQ.G15.000031", "name": "Giấy khai sinh"}],
    "subjects": ["Công dân Việt Nam", "Người Việt Nam định cư ở nước ngoài"],
    "implementing_bodies": ["Ủy ban nhân dân cấp xã"],
    "competent_bodies": [],
    "coordinating_bodies": [],
    "online_services": [
        _service_example(53, "000.00.00.H26", "Ủy ban nhân dân Thành phố Hà Nội"),
        _service_example(54, "000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh"),
    ],
    "retired_at": None,
}

AGENCIES_EXAMPLE = {
    "items": [
        _agency_example("000.00.00.G15", None, "Bộ Tư pháp", "central"),
        _agency_example(
            "000.00.00.G04", None, "Bộ Giao thông vận tải (cũ)", "central", valid_to="2025-03-01"
        ),
        _agency_example(
            None,
            "H26.4",
            "Sở Giáo dục và Đào tạo Thành phố Hà Nội",
            "province-department",
            parent_code="000.00.00.H26",
        ),
    ]
}

FIELDS_EXAMPLE = {
    "items": [
        {"code": "bao-chi", "name": "Báo chí", "procedures": 1},
        {"code": "ho-tich", "name": "Hộ tịch", "procedures": 24},
    ]
}

PROVINCES_EXAMPLE = {
    "items": [
        {
            "code": "01",
            "name": "Thành phố Hà Nội",
            "kind": "thành phố",
            "merged": False,
            "formed_from": ["Hà Nội"],
            "agency_code": "000.00.00.H26",
        },
        {
            "code": "79",
            "name": "Thành phố Hồ Chí Minh",
            "kind": "thành phố",
            "merged": True,
            "formed_from": ["Thành phố Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu"],
            "agency_code": "000.00.00.H29",
        },
    ]
}

BAD_PER_PAGE_EXAMPLE = {
    "status_code": 400,
    "errors": [
        {
            "error": "ValidationError",
            "field": "per_page",
            "message": f"per_page must be between 1 and {MAX_PER_PAGE}",
        }
    ],
}

UNKNOWN_PROCEDURE_EXAMPLE = {
    "status_code": 404,
    "errors": [{"error": "NotFound", "message": "no procedure with this code"}],
}


# ------------------------------------------------------------------------------ schemas


def _int(description: str = "", **extra) -> dict:
    return {"type": "integer", **extra, **({"description": description} if description else {})}


def _bool(description: str = "") -> dict:
    return {"type": "boolean", **({"description": description} if description else {})}


def _array(name: str, description: str = "", **extra) -> dict:
    return {
        "type": "array",
        "items": _ref(name),
        **extra,
        **({"description": description} if description else {}),
    }


def _summary_properties() -> dict:
    return {
        "code": _text(
            "The procedure's code in the national database (opaque).",
            maxLength=MAX_PROCEDURE_CODE_LENGTH,
            examples=["1.001193"],
        ),
        "name": _text("Name in Vietnamese."),
        "levels": {
            "type": "array",
            "description": "Levels of government that carry the procedure out.",
            "items": {"type": "string", "enum": list(LEVELS)},
        },
        "fields": _array("Field", "Fields (lĩnh vực), by name."),
        "publisher": _nullable(_text("Code of the agency that published the procedure.")),
        "publisher_name": _nullable(_text("Name of the publishing agency as the source states it.")),
        "processing_days": _nullable(
            _int("Shortest stated processing time, in working days (online channel first).", minimum=0)
        ),
        "online_level": _nullable(
            _int(
                "Highest Decree 43/2011 level it is offered online at; null when not online.",
                enum=ONLINE_LEVELS,
            )
        ),
        "full_online": _bool("Offered fully online somewhere (Decree 42/2022 toàn trình)."),
        "active": _bool("False once the procedure has been retired."),
    }


def _procedure() -> dict:
    properties = {
        **_summary_properties(),
        "decision_number": _nullable(_text("Number of the decision that published the procedure.")),
        "kind": _nullable(_text("Kind of procedure, as the national database classifies it.")),
        "requirements": _nullable(_text("Conditions the applicant must meet.")),
        "source_url": _nullable(_text("The procedure's page on the national database.")),
        "channels": _array("Channel", "Ways of filing, with times and fees."),
        "documents": _array("Document", "Documents of the dossier (thành phần hồ sơ)."),
        "steps": _array("StepGroup", "Steps, per case."),
        "legal_basis": _array("LegalBasis", "Legal documents it rests on."),
        "results": _array("Result", "What the applicant receives."),
        "subjects": _strings("Who may use it."),
        "implementing_bodies": _strings("Bodies that carry it out."),
        "competent_bodies": _strings("The competent authority (cơ quan có thẩm quyền): bodies that decide."),
        "coordinating_bodies": _strings("Agencies it is coordinated with (cơ quan phối hợp)."),
        "online_services": _array("OnlineService", "Agencies that offer it online."),
        "retired_at": _nullable(_text("When it was retired; null while active.", format="date-time")),
    }
    return _object(properties, "A whole procedure: summary, channels, documents, steps, legal basis.")


def openapi_components() -> dict[str, Any]:
    """Component schemas of the catalog, merged into the portal's document."""
    name = _text("Name in Vietnamese.")
    schemas = {
        "Field": _object(
            {
                "code": _text("Field code: the national code, or a slug of the name.", examples=["ho-tich"]),
                "name": name,
            },
            "A field (lĩnh vực) of procedures.",
        ),
        "FieldWithCount": _object(
            {
                "code": _text("Field code.", examples=["ho-tich"]),
                "name": name,
                "procedures": _int("Active procedures in this field.", minimum=0),
            },
            "A field with the number of active procedures in it.",
        ),
        "ProcedureSummary": _object(_summary_properties(), "A procedure as search results list it."),
        "ProcedurePage": _object(
            {
                "items": _array("ProcedureSummary", maxItems=MAX_PER_PAGE),
                "total": _int("Matches over all pages.", minimum=0),
                "page": _int(minimum=1, maximum=MAX_PAGE),
                "per_page": _int(minimum=1, maximum=MAX_PER_PAGE),
                "pages": _int("Number of pages; 1 when nothing matches.", minimum=1),
            },
            "One page of search results, best match first.",
        ),
        "Fee": _object(
            {
                "kind": _text(
                    "phí (charge), lệ phí (fee), or not stated.", enum=["phi", "le_phi", "unspecified"]
                ),
                "amount": _nullable(_int("Whole đồng; null when not stated in đồng.", minimum=0)),
                "currency": _nullable({"type": "string", "enum": ["VND", "USD"]}),
                "description": _nullable(_text("The fee as the source describes it.")),
                "foreign_amount": _text(
                    "The amount when the fee is in a foreign currency (decimal text).", examples=["50"]
                ),
            },
            "A fee or charge of one way of filing.",
            optional=("foreign_amount",),
        ),
        "Timing": _object(
            {
                "amount": _nullable({"type": "number", "minimum": 0, "description": "Processing time."}),
                "unit": _nullable({"type": "string", "enum": ["working_day", "day", "hour"]}),
                "description": _nullable(_text("The time as the source describes it.")),
                "fees": _array("Fee"),
            },
            "A processing time of one way of filing, with its fees.",
        ),
        "Channel": _object(
            {
                "channel": _int("1 in person, 2 online, 3 by post.", enum=[1, 2, 3]),
                "name": _nullable(_text("Name of the channel.")),
                "timings": _array("Timing"),
            },
            "A way of filing (cách thức thực hiện).",
        ),
        "Document": _object(
            {
                "key": _text("Stable key of the document within the procedure."),
                "case": _text("The case it applies to; empty when it always applies."),
                "name": _text("What to provide."),
                "originals": _int("Originals to provide.", minimum=0),
                "copies": _int("Copies to provide.", minimum=0),
                "templates": _strings("File names of form templates."),
                "required": _bool(),
                "note": _bool("A note rather than a document to provide."),
            },
            "A document of the dossier (giấy tờ).",
        ),
        "StepGroup": _object(
            {
                "case": _text("The case; empty when it always applies."),
                "steps": _strings("The steps, in order."),
            },
            "The steps of one case (trình tự thực hiện).",
        ),
        "LegalBasis": _object(
            {
                "number": _nullable(_text("Number of the legal document.")),
                "title": _nullable(_text("Title of the legal document.")),
            },
            "A legal document the procedure rests on.",
        ),
        "Result": _object(
            {"code": _nullable(_text("Code of the result.")), "name": _text("What it is.")},
            "A result of the procedure.",
        ),
        "OnlineService": _object(
            {
                "id": _int("Id of the online service on this portal."),
                "agency_code": _text("Code of the agency offering it."),
                "agency_name": _text("Name of the agency."),
                "level": _int(
                    "Decree 43/2011 level: 3 file online; 4 also pay and receive online.", enum=ONLINE_LEVELS
                ),
                "full_online": _bool("Decree 42/2022 toàn trình (else một phần)."),
                "pays_online": _bool("Fees can be paid online."),
            },
            "The procedure offered online at one agency.",
        ),
        "Procedure": _procedure(),
        "Agency": _object(
            {
                "code": _nullable(
                    _text("Electronic identity code (V1V2V3.Z1Z2.Y1Y2.MX1X2).", examples=["000.00.00.G15"])
                ),
                "portal_code": _nullable(
                    _text("The national portal's code, where no identity code is known.")
                ),
                "name": name,
                "level": _text(
                    "Level in the agency tree.", examples=["central", "province", "province-department"]
                ),
                "parent_code": _nullable(_text("Code of the agency above it.")),
                "valid_from": _nullable(_text("First day it exists.", format="date")),
                "valid_to": _nullable(
                    _text("First day it no longer exists (reorganisations).", format="date")
                ),
                "active": _bool("Exists today."),
            },
            "An agency. At least one of code and portal_code is set.",
        ),
        "Province": _object(
            {
                "code": _text("Administrative unit code (mã ĐVHC).", examples=["01"]),
                "name": name,
                "kind": _nullable(_text("tỉnh or thành phố.")),
                "merged": _bool("Formed by the 2025 merger of several provinces."),
                "formed_from": _strings("Provinces before 1 July 2025 that form it."),
                "agency_code": _nullable(_text("Code of its people's committee.")),
            },
            "A provincial-level unit of the 34 since 1 July 2025.",
        ),
        "AgencyList": _object({"items": _array("Agency")}, "Every agency, past and present, by code."),
        "FieldList": _object({"items": _array("FieldWithCount")}, "Every field, by name."),
        "ProvinceList": _object({"items": _array("Province")}, "The provinces, by name."),
    }
    return {"schemas": schemas}


# -------------------------------------------------------------------------------- paths


def _query(name: str, schema: dict, description: str, example: Any) -> dict:
    # The search form sends empty fields, so the service reads an empty value as an absent one.
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "description": description + " An empty value is the same as leaving it out.",
        "schema": schema,
        "example": example,
    }


def _search_parameters() -> list[dict]:
    text = {"type": "string", "pattern": NO_NUL}
    return [
        _query(
            "q",
            {**text, "maxLength": MAX_QUERY_LENGTH},
            "Words to look for in the name, code, field, agencies, subjects and results. Case and "
            "Vietnamese diacritics are ignored (dang ky khai sinh finds đăng ký khai sinh); every word "
            "must match; punctuation separates words, and a query of punctuation alone finds nothing.",
            "đăng ký khai sinh",
        ),
        _query(
            "level",
            {"type": "string", "enum": list(LEVELS)},
            "Only procedures carried out at this level of government.",
            "commune",
        ),
        _query(
            "agency",
            {**text, "maxLength": MAX_AGENCY_CODE_LENGTH},
            "Only procedures published by, or offered online at, this agency or an agency below it "
            "(identity code or portal code).",
            "000.00.00.G15",
        ),
        _query(
            "field",
            {**text, "maxLength": MAX_FIELD_CODE_LENGTH},
            "Only procedures of this field (a code from GET /api/v1/fields).",
            "ho-tich",
        ),
        _query(
            "online_level",
            _int(enum=ONLINE_LEVELS),
            "Only procedures offered online at this Decree 43/2011 level.",
            4,
        ),
        _query(
            "full_online",
            {"type": "boolean", "default": False},
            "true: only procedures offered fully online (toàn trình).",
            True,
        ),
        _query(
            "page",
            _int(minimum=1, maximum=MAX_PAGE, default=1),
            "Page number. A page past the last one answers no items, with the total.",
            1,
        ),
        _query(
            "per_page",
            _int(minimum=1, maximum=MAX_PER_PAGE, default=DEFAULT_PER_PAGE),
            "Results per page.",
            DEFAULT_PER_PAGE,
        ),
    ]


def _ok(schema: str, description: str, example: dict) -> dict:
    return {
        "description": description,
        "headers": {
            "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
            "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
        },
        "content": {"application/json": {"schema": _ref(schema), "example": example}},
    }


def _error(description: str, example: dict) -> dict:
    return {
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}},
        "content": {"application/json": {"schema": _ref("ErrorResponse"), "example": example}},
    }


def _get(operation_id: str, summary: str, description: str, responses: dict, parameters=()) -> dict:
    operation = {
        "tags": [TAG],
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "responses": {**responses, "429": {"$ref": "#/components/responses/RateLimited"}},
    }
    if parameters:
        operation["parameters"] = list(parameters)
    return {"get": operation}


def openapi_paths() -> dict[str, Any]:
    """The catalog's operations, all public and read-only."""
    code = {
        "name": "code",
        "in": "path",
        "required": True,
        "description": "The procedure's code.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_PROCEDURE_CODE_LENGTH},
        "example": "1.001193",
    }
    return {
        "/api/v1/procedures": _get(
            "searchProcedures",
            "Search procedures",
            "Active procedures matching every filter given, one page at a time. An exact code ranks first, "
            "then names holding the whole phrase, then names holding every word, then other matches. "
            "Unknown parameters are ignored; each invalid one is reported in the 400 answer.",
            {
                "200": _ok("ProcedurePage", "One page of results.", PAGE_EXAMPLE),
                "400": _error("Invalid parameters: one error per invalid parameter.", BAD_PER_PAGE_EXAMPLE),
            },
            _search_parameters(),
        ),
        "/api/v1/procedures/{code}": _get(
            "getProcedure",
            "Get a procedure",
            "The whole procedure, including retired ones (active is false).",
            {
                "200": _ok("Procedure", "The procedure.", PROCEDURE_EXAMPLE),
                "404": _error("No procedure has this code.", UNKNOWN_PROCEDURE_EXAMPLE),
            },
            [code],
        ),
        "/api/v1/agencies": _get(
            "listAgencies",
            "List agencies",
            "Every agency with its place in the agency tree, including those closed by reorganisations "
            "(active is false).",
            {"200": _ok("AgencyList", "The agencies.", AGENCIES_EXAMPLE)},
        ),
        "/api/v1/fields": _get(
            "listFields",
            "List fields",
            "Every field (lĩnh vực) with the number of active procedures in it.",
            {"200": _ok("FieldList", "The fields.", FIELDS_EXAMPLE)},
        ),
        "/api/v1/provinces": _get(
            "listProvinces",
            "List provinces",
            "The 34 provincial-level units since 1 July 2025, with the provinces that formed them.",
            {"200": _ok("ProvinceList", "The provinces.", PROVINCES_EXAMPLE)},
        ),
    }


def openapi_tags() -> list[dict]:
    return [
        {
            "name": TAG,
            "description": "Procedures, online services, agencies, fields and provinces. Public "
            "and read-only; answers may be cached for 60 seconds.",
        }
    ]
