"""The sync API in the OpenAPI document (contract/provincial-sync.md), with examples.

Every operation is signed by the partner (three headers, documented as parameters). The
batch's own checks live in :mod:`portal.sync.validation`; the limits here are the same.
"""

from __future__ import annotations

from typing import Any

from portal.payments.fees import MAX_AMOUNT
from portal.sync.feed import DEFAULT_LIMIT, MAX_LIMIT
from portal.sync.validation import MAX_EVENTS, MAX_NOTE, PAYMENT_REQUIRED

TAG = "Partner sync"
STATUS = {"type": "integer", "minimum": 1, "maximum": 10, "description": "National status code 1-10."}
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset."}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

EVENT_EXAMPLE = {
    "event_id": "H56-000123",
    "dossier_code": "000.00.15.H56-250102-0001",
    "status": 4,
    "occurred_at": "2025-01-02T08:30:00+07:00",
    "note": "Chuyển phòng chuyên môn thẩm định",
    "handler": {"name": "Nguyễn Văn A", "unit": "Phòng Tư pháp"},
    "due_at": "2025-01-09T17:00:00+07:00",
    "dossier": {
        "procedure_code": "1.001193",
        "agency_code": "000.00.15.H56",
        "channel": 1,
        "received_at": "2025-01-02T08:00:00+07:00",
        "applicant": {
            "name": "Trần Thị B",
            "id_number": "038190000001",
            "phone": "0912345678",
            "email": "b@example.vn",
        },
        "summary": "Đăng ký khai sinh cho con",
    },
}
# A later event of the same dossier: the agency asks for a payment (status 6) and says how much.
PAYMENT_EVENT_EXAMPLE = {
    "event_id": "H56-000125",
    "dossier_code": "000.00.15.H56-250102-0001",
    "status": PAYMENT_REQUIRED,
    "occurred_at": "2025-01-06T10:00:00+07:00",
    "note": "Đề nghị nộp lệ phí đăng ký",
    "handler": {"name": "Nguyễn Văn A", "unit": "Phòng Tư pháp"},
    "amount": 50000,
}
RESULTS_EXAMPLE = {
    "results": [
        {"event_id": "H56-000123", "result": "applied"},
        {"event_id": "H56-000122", "result": "stale"},
        {"event_id": "H56-000121", "result": "duplicate"},
        {
            "event_id": "H56-000124",
            "result": "rejected",
            "error": {
                "error": "InvalidTransition",
                "message": "the dossier is closed: its status can no longer change",
            },
        },
    ]
}
UNSIGNED_EXAMPLE = {
    "status_code": 401,
    "errors": [{"error": "InvalidSignature", "message": "signature does not match"}],
}
MALFORMED_EXAMPLE = {
    "status_code": 400,
    "errors": [{"error": "InvalidJson", "message": "the body is not JSON"}],
}
TOO_LARGE_EXAMPLE = {
    "status_code": 413,
    "errors": [{"error": "PayloadTooLarge", "message": f"at most {MAX_EVENTS} events per request"}],
}
BAD_CURSOR_EXAMPLE = {
    "status_code": 400,
    "errors": [{"error": "InvalidCursor", "message": "after is not a cursor of this feed"}],
}
DOSSIER_EXAMPLE = {
    "dossier_code": "000.00.00.G15-250102-0001",
    "procedure_code": "1.001193",
    "agency_code": "000.00.00.G15",
    "channel": 2,
    "status": 1,
    "received_at": "2025-01-02T09:12:40+07:00",
    "due_at": "2025-01-09T17:00:00+07:00",
    "summary": "Thủ tục đăng ký khai sinh",
    "applicant": {
        "name": "Trần Thị Bình",
        "id_number": "038190000001",
        "phone": "0912345678",
        "email": "binh@example.vn",
    },
    "form_data": {"applicant_name": "Trần Thị Bình", "request_details": "Đăng ký khai sinh cho con"},
    "attachments": [
        {
            "document_key": "d1",
            "kind": "initial",
            "name": "to-khai.pdf",
            "content_type": "application/pdf",
            "size": 48213,
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "url": "https://dichvucong.example.vn/api/sync/files/WzEsMTczNjQwMDAwMF0.signature",
            "expires_at": "2025-01-09T09:12:40+07:00",
        }
    ],
}
FEED_EXAMPLE = {"items": [DOSSIER_EXAMPLE], "next": "djE6MTI"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(max_length: int, description: str = "", **extra) -> dict:
    out = {"type": "string", "minLength": 1, "maxLength": max_length, **extra}
    if description:
        out["description"] = description
    return out


def _headers() -> list[dict]:
    return [
        {
            "name": "X-Portal-Partner",
            "in": "header",
            "required": True,
            "description": "The partner's agency code.",
            "schema": _string(32),
            "example": "H56",
        },
        {
            "name": "X-Portal-Timestamp",
            "in": "header",
            "required": True,
            "description": "Unix seconds; refused when more than 300 s from the portal's clock.",
            "schema": _string(12, pattern="^[0-9]+$"),
            "example": "1735781400",
        },
        {
            "name": "X-Portal-Signature",
            "in": "header",
            "required": True,
            "description": 'v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>, several separated by commas '
            "during a rotation. GET requests sign an empty body.",
            "schema": _string(600),
            "example": "v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        },
    ]


def _answer(schema: str, description: str, example: dict) -> dict:
    return {
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}},
        "content": {"application/json": {"schema": _ref(schema), "example": example}},
    }


def _unsigned() -> dict:
    return _answer(
        "ErrorResponse",
        "Not signed by an active partner: UnknownPartner, StaleTimestamp or InvalidSignature, nothing more.",
        UNSIGNED_EXAMPLE,
    )


def openapi_components() -> dict[str, Any]:
    applicant = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": _string(100),
            "id_number": _string(20, "Personal identification number (CCCD).", pattern="^[0-9]+$"),
            "phone": _string(16),
            "email": _string(254),
        },
    }
    optional_applicant = {
        "type": "object",
        "properties": {
            "name": {"type": ["string", "null"]},
            "id_number": {"type": ["string", "null"]},
            "phone": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
        },
    }
    return {
        "schemas": {
            "DossierEvent": {
                "type": "object",
                "description": "One status change of one dossier, as a partner reports it.",
                "required": ["event_id", "dossier_code", "status", "occurred_at"],
                "properties": {
                    "event_id": _string(128, "Unique per partner: a repeat is answered duplicate."),
                    "dossier_code": _string(64),
                    "status": STATUS,
                    "occurred_at": TIME,
                    "note": {"type": "string", "maxLength": MAX_NOTE},
                    "handler": {
                        "type": "object",
                        "properties": {"name": _string(200), "unit": _string(300)},
                    },
                    "due_at": {
                        **TIME,
                        "description": "A new due date; otherwise computed from the procedure.",
                    },
                    "amount": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_AMOUNT,
                        "description": f"Only with status {PAYMENT_REQUIRED} (payment required): what the "
                        "citizen must pay, a whole number of đồng. Added once (per event_id) to what the "
                        "dossier owes when the event is applied or stale, and payable online on the portal. "
                        "On any other status, or not a whole number in range, the event is rejected "
                        "(ValidationError).",
                        "examples": [50000],
                    },
                    "dossier": {
                        "type": "object",
                        "description": "Required when the portal does not know the dossier yet (filed at a "
                        "counter); ignored otherwise. Sending it with every event is safe.",
                        "required": ["procedure_code", "agency_code", "applicant"],
                        "properties": {
                            "procedure_code": _string(64),
                            "agency_code": _string(32),
                            "channel": {"type": "integer", "enum": [1, 2, 3], "default": 1},
                            "received_at": TIME,
                            "applicant": applicant,
                            "summary": {"type": "string", "maxLength": 500},
                        },
                    },
                },
            },
            "DossierEventBatch": {
                "type": "object",
                "required": ["events"],
                "properties": {
                    "events": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_EVENTS,
                        "items": _ref("DossierEvent"),
                    }
                },
            },
            "DossierEventResults": {
                "type": "object",
                "description": "One result per event, in the order sent.",
                "required": ["results"],
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["event_id", "result"],
                            "properties": {
                                "event_id": {"type": ["string", "null"]},
                                "result": {
                                    "type": "string",
                                    "enum": ["applied", "duplicate", "stale", "rejected"],
                                },
                                "error": {
                                    "type": "object",
                                    "required": ["error", "message"],
                                    "properties": {
                                        "error": {
                                            "type": "string",
                                            "enum": [
                                                "UnknownDossier",
                                                "OutsideJurisdiction",
                                                "InvalidTransition",
                                                "ValidationError",
                                            ],
                                        },
                                        "message": {"type": "string"},
                                    },
                                },
                            },
                        },
                    }
                },
            },
            "SyncDossier": {
                "type": "object",
                "description": "A dossier filed on the portal, as delivered to its partner and read from the feed.",
                "required": [
                    "dossier_code",
                    "procedure_code",
                    "agency_code",
                    "applicant",
                    "form_data",
                    "attachments",
                ],
                "properties": {
                    "dossier_code": {"type": "string"},
                    "procedure_code": {"type": "string"},
                    "agency_code": {"type": "string"},
                    "channel": {"type": "integer", "enum": [1, 2, 3]},
                    "status": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
                    "received_at": NULLABLE_TIME,
                    "due_at": NULLABLE_TIME,
                    "summary": {"type": ["string", "null"]},
                    "applicant": optional_applicant,
                    "form_data": {
                        "type": "object",
                        "description": "The form as filed (JSON Schema of the service).",
                    },
                    "attachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "document_key": {"type": "string"},
                                "kind": {"type": "string", "enum": ["initial", "supplement"]},
                                "name": {"type": "string"},
                                "content_type": {"type": "string"},
                                "size": {"type": "integer"},
                                "sha256": {"type": "string"},
                                "url": {"type": "string", "description": "Signed download link; expires."},
                                "expires_at": TIME,
                            },
                        },
                    },
                },
            },
            "SyncDossierFeed": {
                "type": "object",
                "required": ["items", "next"],
                "properties": {
                    "items": {"type": "array", "items": _ref("SyncDossier")},
                    "next": {
                        "type": "string",
                        "description": "Opaque cursor: ask with after=next next time.",
                    },
                },
            },
        }
    }


def openapi_paths() -> dict[str, Any]:
    return {
        "/api/v1/sync/dossier-events": {
            "post": {
                "tags": [TAG],
                "operationId": "postDossierEvents",
                "summary": "Report dossier status events",
                "description": f"Up to {MAX_EVENTS} events and 1 MiB per request, signed. The answer is 200 with "
                "one result per event, in order: applied, duplicate, stale or rejected (with its error). A 200 "
                "means every applied and stale event is committed; a retry after a lost answer gets duplicate. "
                f"A status {PAYMENT_REQUIRED} event may say how much the citizen must pay (amount, in đồng).",
                "parameters": _headers(),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("DossierEventBatch"),
                            "example": {"events": [EVENT_EXAMPLE, PAYMENT_EVENT_EXAMPLE]},
                        }
                    },
                },
                "responses": {
                    "200": _answer("DossierEventResults", "One result per event.", RESULTS_EXAMPLE),
                    "400": _answer(
                        "ErrorResponse", "Not JSON, or not a batch at all: nothing stored.", MALFORMED_EXAMPLE
                    ),
                    "401": _unsigned(),
                    "413": _answer(
                        "ErrorResponse",
                        f"More than {MAX_EVENTS} events or 1 MiB: nothing stored.",
                        TOO_LARGE_EXAMPLE,
                    ),
                    "429": {"$ref": "#/components/responses/RateLimited"},
                },
            }
        },
        "/api/v1/sync/dossiers": {
            "get": {
                "tags": [TAG],
                "operationId": "listSyncDossiers",
                "summary": "Read the dossiers filed for this partner",
                "description": "For partners that cannot receive deliveries: the dossiers filed on the portal in "
                "the partner's jurisdiction, in filing order, after the cursor. Signed with an empty body.",
                "parameters": [
                    *_headers(),
                    {
                        "name": "after",
                        "in": "query",
                        "description": "The next cursor of the previous page; none for the start.",
                        "schema": {"type": "string", "maxLength": 40},
                        "example": "djE6MTI",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "Dossiers per page.",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LIMIT,
                            "default": DEFAULT_LIMIT,
                        },
                        "example": DEFAULT_LIMIT,
                    },
                ],
                "responses": {
                    "200": _answer(
                        "SyncDossierFeed", "One page of dossiers and the next cursor.", FEED_EXAMPLE
                    ),
                    "400": _answer(
                        "ErrorResponse", "A cursor or limit that is not valid.", BAD_CURSOR_EXAMPLE
                    ),
                    "401": _unsigned(),
                    "429": {"$ref": "#/components/responses/RateLimited"},
                },
            }
        },
    }


def openapi_tags() -> list[dict]:
    return [
        {
            "name": TAG,
            "description": "For ministry and provincial one-stop systems (contract v1): report dossier events, read "
            "the dossiers filed for them. Every request is signed; see the integration guide.",
        }
    ]
