"""The portal's OpenAPI 3.1 document, assembled from each domain's part.

A domain publishes its operations by giving its ``schemas`` module three functions,
``openapi_paths()``, ``openapi_components()`` and ``openapi_tags()``, and by being listed in
``PARTS``. What every domain shares (the error shape, the rate-limit answer, the headers
every answer carries) is defined here once.

``outline()`` turns the document into plain data for the server-rendered docs page.
"""

from __future__ import annotations

import copy
import importlib
import json
from functools import lru_cache
from typing import Any

OPENAPI_VERSION = "3.1.0"
DOCS_PATH = "/api/docs"
SPEC_PATH = "/api/v1/openapi.json"

# Modules contributing paths and components, in the order the docs page lists them.
PARTS = ("portal.catalog.schemas", "portal.dossiers.schemas", "portal.sync.schemas")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

DESCRIPTION = (
    "The public API of OpenDVC, the national public-service portal.\n\n"
    "Every answer is JSON. Every error answers with the same shape: the status code and one "
    "entry per problem, each with a stable `error` token for machines and a `message` for "
    "people. Unknown query parameters are ignored. Answers carry an `X-Request-Id` header; "
    "quote it when reporting a problem. Fields may be added to answers at any time, so "
    "clients must ignore fields they do not know.\n\n"
    f"A readable version of this document is at {DOCS_PATH}."
)


def _error_response_schema() -> dict:
    return {
        "type": "object",
        "description": "The error shape of every JSON error of the portal.",
        "required": ["status_code", "errors"],
        "properties": {
            "status_code": {
                "type": "integer",
                "minimum": 400,
                "maximum": 599,
                "description": "The HTTP status code, repeated.",
            },
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {
                            "type": "string",
                            "description": "Stable token for machines.",
                            "examples": ["ValidationError", "NotFound", "RateLimited"],
                        },
                        "field": {
                            "type": "string",
                            "description": "The parameter or field at fault, when the error is about one.",
                            "examples": ["per_page"],
                        },
                        "message": {"type": "string", "description": "For people; may change."},
                    },
                },
            },
        },
    }


def _common_components() -> dict[str, Any]:
    def error(description: str, example: dict) -> dict:
        return {
            "description": description,
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}},
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorResponse"},
                    "example": example,
                }
            },
        }

    return {
        "schemas": {"ErrorResponse": _error_response_schema()},
        "responses": {
            "RateLimited": error(
                "Too many requests from this client; wait and retry.",
                {"status_code": 429, "errors": [{"error": "RateLimited", "message": "300 per 1 minute"}]},
            ),
        },
        "headers": {
            "CacheControl": {
                "description": "How long the answer may be reused.",
                "required": True,
                "schema": {"type": "string"},
                "example": "public, max-age=60",
            },
            "XRequestId": {
                "description": "Id of this request in the portal's logs.",
                "required": True,
                "schema": {"type": "string"},
                "example": "3f2a9c0d1e7b4a56",
            },
        },
    }


def _own_paths() -> dict[str, Any]:
    return {
        SPEC_PATH: {
            "get": {
                "tags": ["API description"],
                "operationId": "getOpenApiDocument",
                "summary": "This document",
                "description": f"The OpenAPI {OPENAPI_VERSION} description of the API, as JSON. "
                f"A readable version is at {DOCS_PATH}.",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "headers": {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}},
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "required": ["openapi", "info", "paths"]}
                            }
                        },
                    },
                    "429": {"$ref": "#/components/responses/RateLimited"},
                },
            }
        }
    }


def _merge(target: dict, part: dict, source: str) -> None:
    for section, entries in part.items():
        existing = target.setdefault(section, {})
        clash = existing.keys() & entries.keys()
        if clash:
            raise ValueError(f"{source} redefines {section}: {', '.join(sorted(clash))}")
        existing.update(entries)


@lru_cache(maxsize=1)
def _build() -> str:
    paths = _own_paths()
    components = _common_components()
    tags: list[dict] = []
    for name in PARTS:
        module = importlib.import_module(name)
        _merge(paths, module.openapi_paths(), name)
        _merge(components, module.openapi_components(), name)
        tags.extend(module.openapi_tags())
    tags.append({"name": "API description", "description": "This document."})
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "OpenDVC API",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": components,
    }
    # Stored as text: every caller gets its own copy, and a typo fails at the first build.
    return json.dumps(document, ensure_ascii=False)


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy the caller may change)."""
    return json.loads(_build())


# -------------------------------------------------------------------- the readable page


def resolve(doc: dict, node: Any) -> Any:
    """``node``, or what its ``$ref`` (local to ``doc``) points at."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for key in node["$ref"].lstrip("#/").split("/"):
            target = target[key]
        node = target
    return node


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    return None


def describe(schema: dict) -> dict:
    """A schema as ``{"type": words, "ref": component name or None, "constraints": [...]}``."""
    ref = _ref_name(schema)
    if ref:
        return {"type": ref, "ref": ref, "constraints": []}
    kinds = schema.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    words, item_ref = [], None
    for kind in kinds:
        if kind == "array":
            item = describe(schema.get("items", {}))
            item_ref = item["ref"]
            words.append(f"array of {item['type']}")
        else:
            words.append(kind)
    constraints = []
    enum = [v for v in schema.get("enum", []) if v is not None]
    if enum:
        constraints.append("one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in enum))
    if "minimum" in schema and "maximum" in schema:
        constraints.append(f"{schema['minimum']} to {schema['maximum']}")
    elif "minimum" in schema:
        constraints.append(f"at least {schema['minimum']}")
    elif "maximum" in schema:
        constraints.append(f"at most {schema['maximum']}")
    if schema.get("minLength", 0) > 1:
        constraints.append(f"at least {schema['minLength']} characters")
    elif schema.get("minLength") == 1:
        constraints.append("not empty")
    if "maxLength" in schema:
        constraints.append(f"at most {schema['maxLength']} characters")
    if "format" in schema:
        constraints.append(f"format {schema['format']}")
    if "default" in schema:
        constraints.append("default " + json.dumps(schema["default"]))
    return {"type": " or ".join(words), "ref": item_ref, "constraints": constraints}


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _operation(doc: dict, path: str, method: str, op: dict) -> dict:
    parameters = []
    for raw in op.get("parameters", []):
        param = resolve(doc, raw)
        parameters.append(
            {
                "name": param["name"],
                "in": param["in"],
                "required": param.get("required", False),
                "description": param.get("description", ""),
                "schema": describe(param.get("schema", {})),
                "example": json.dumps(param["example"], ensure_ascii=False) if "example" in param else None,
            }
        )
    responses = []
    for status, raw in op.get("responses", {}).items():
        response = resolve(doc, raw)
        media = response.get("content", {}).get("application/json", {})
        responses.append(
            {
                "status": status,
                "description": response.get("description", ""),
                "schema": describe(media["schema"]) if "schema" in media else None,
                "example": _pretty(media["example"]) if "example" in media else None,
            }
        )
    return {
        "id": op.get("operationId") or f"{method}-{path}",
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary", ""),
        "description": op.get("description", ""),
        "parameters": parameters,
        "responses": responses,
    }


def _schema_entry(name: str, schema: dict) -> dict:
    required = set(schema.get("required", []))
    return {
        "name": name,
        "description": schema.get("description", ""),
        "properties": [
            {
                "name": prop,
                "required": prop in required,
                "description": sub.get("description", ""),
                "schema": describe(sub),
            }
            for prop, sub in schema.get("properties", {}).items()
        ],
    }


def outline(doc: dict | None = None) -> dict[str, Any]:
    """The document as plain data for the docs page: tags with their operations, schemas."""
    doc = doc or document()
    by_tag: dict[str, list] = {tag["name"]: [] for tag in doc.get("tags", [])}
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op = item[method]
                by_tag.setdefault((op.get("tags") or ["Other"])[0], []).append(
                    _operation(doc, path, method, op)
                )
    descriptions = {tag["name"]: tag.get("description", "") for tag in doc.get("tags", [])}
    return {
        "info": copy.deepcopy(doc["info"]),
        "openapi": doc["openapi"],
        "spec_path": SPEC_PATH,
        "tags": [
            {"name": name, "description": descriptions.get(name, ""), "operations": ops}
            for name, ops in by_tag.items()
            if ops
        ],
        "schemas": [
            _schema_entry(name, schema)
            for name, schema in sorted(doc["components"].get("schemas", {}).items())
        ],
    }
