"""The dossier lookup's part of the OpenAPI document (merged by portal.apidocs.spec)."""

from __future__ import annotations

from typing import Any

from portal.dossiers.page_forms import MAX_CODE, MAX_SECRET

TAG = "Dossier lookup"

_RESULT_EXAMPLE = {
    "code": "000.00.00.G15-250303-0001",
    "procedure_name": "Cấp bản sao trích lục hộ tịch",
    "agency_name": "Bộ Tư pháp",
    "status": 4,
    "status_name": {"vi": "Đang xử lý", "en": "Being processed"},
    "received_at": "2025-03-03T09:12:40+07:00",
    "due_at": "2025-03-10T17:00:00+07:00",
    "timeliness": "on_time",
}


def _error(description: str, example: dict) -> dict:
    return {
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}},
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}, "example": example}
        },
    }


def openapi_components() -> dict[str, Any]:
    time = {"type": ["string", "null"], "format": "date-time", "description": "Vietnam time (+07:00)."}
    return {
        "schemas": {
            "DossierLookupRequest": {
                "type": "object",
                "description": "A dossier code and the applicant's mobile number or ID number (CCCD).",
                "required": ["code", "secret"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_CODE,
                        "pattern": "^[^\\x00-\\x1f\\x7f]+$",
                        "description": "The dossier code, as on the receipt.",
                        "examples": ["000.00.00.G15-250303-0001"],
                    },
                    "secret": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_SECRET,
                        "pattern": "^[^\\x00-\\x1f\\x7f]+$",
                        "description": "The applicant's mobile number (any usual spelling: 0912 345 678, "
                        "+84912345678) or 12-digit ID number.",
                        "examples": ["0912345678"],
                    },
                },
            },
            "DossierLookupResult": {
                "type": "object",
                "description": "A dossier's public state. Nothing personal: no name, number or document.",
                "required": [
                    "code",
                    "procedure_name",
                    "agency_name",
                    "status",
                    "status_name",
                    "received_at",
                    "due_at",
                    "timeliness",
                ],
                "properties": {
                    "code": {"type": "string"},
                    "procedure_name": {"type": "string", "description": "In Vietnamese."},
                    "agency_name": {
                        "type": "string",
                        "description": "The agency handling it, in Vietnamese.",
                    },
                    "status": {
                        "type": ["integer", "null"],
                        "minimum": 1,
                        "maximum": 10,
                        "description": "National status code 1-10.",
                    },
                    "status_name": {
                        "type": ["object", "null"],
                        "required": ["vi", "en"],
                        "properties": {"vi": {"type": "string"}, "en": {"type": "string"}},
                    },
                    "received_at": time,
                    "due_at": time,
                    "timeliness": {
                        "type": ["string", "null"],
                        "enum": ["early", "on_time", "late", "paused", None],
                        "description": "Judged at the result (or refusal) when there is one, else now; "
                        "null without a due date or when withdrawn.",
                    },
                },
            },
        }
    }


def openapi_paths() -> dict[str, Any]:
    return {
        "/api/v1/dossiers/lookup": {
            "post": {
                "tags": [TAG],
                "operationId": "lookUpDossier",
                "summary": "Look up a dossier",
                "description": "The status of a dossier for anyone who has its code and the applicant's "
                "mobile number or ID number, as on the lookup page. A wrong code and a wrong number get "
                "the same 404. Limited to 10 lookups per 15 minutes per client address and per code "
                "(shared with the page). Sent as a JSON body, never in the URL.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/DossierLookupRequest"},
                            "example": {"code": "000.00.00.G15-250303-0001", "secret": "0912345678"},
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The dossier's public state.",
                        "headers": {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/DossierLookupResult"},
                                "example": _RESULT_EXAMPLE,
                            }
                        },
                    },
                    "400": _error(
                        "The body is not a JSON object with code and secret; one error per field.",
                        {
                            "status_code": 400,
                            "errors": [
                                {
                                    "error": "ValidationError",
                                    "field": "code",
                                    "message": "This field is required.",
                                }
                            ],
                        },
                    ),
                    "404": _error(
                        "No dossier matches this code and number.",
                        {
                            "status_code": 404,
                            "errors": [
                                {
                                    "error": "NotFound",
                                    "message": "No dossier matches this code and phone or ID number.",
                                }
                            ],
                        },
                    ),
                    "413": _error(
                        "The body is too large.",
                        {"status_code": 413, "errors": [{"error": "PayloadTooLarge", "message": "..."}]},
                    ),
                    "415": _error(
                        "The body is not sent as application/json.",
                        {
                            "status_code": 415,
                            "errors": [{"error": "UnsupportedMediaType", "message": "Send a JSON object."}],
                        },
                    ),
                    "429": {"$ref": "#/components/responses/RateLimited"},
                },
            }
        }
    }


def openapi_tags() -> list[dict]:
    return [
        {
            "name": TAG,
            "description": "Follow a dossier by its code and the applicant's number, without an account.",
        }
    ]
