"""Form definitions of online services, as JSON Schema (draft 2020-12).

The national database describes documents, not form fields, so the portal attaches a form
to each online service: the applicant's identity and contact (every service), fields that
fit the procedure's kind (birth, marriage, residence, business), and what is asked and how
the result is received. Rendering hints are ``x-`` keys: ``x-order`` (field order),
``x-widget`` (``textarea``, ``address``), ``x-title-en`` (the English label).
"""

from __future__ import annotations

import json
from copy import deepcopy
from functools import lru_cache

from services_catalog.normalize import fold

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

ID_NUMBER = {
    "type": "string",
    "pattern": "^[0-9]{12}$",
    "title": "Số định danh cá nhân (CCCD)",
    "x-title-en": "Personal ID number (CCCD)",
}
PHONE = {
    "type": "string",
    "pattern": "^(\\+84|0)[0-9]{9,10}$",
    "title": "Số điện thoại",
    "x-title-en": "Phone number",
}
ADDRESS = {
    "type": "object",
    "title": "Địa chỉ",
    "x-title-en": "Address",
    "x-widget": "address",
    "properties": {
        "province": {
            "type": "string",
            "maxLength": 8,
            "title": "Tỉnh, thành phố",
            "x-title-en": "Province or city",
        },
        "commune": {
            "type": "string",
            "maxLength": 200,
            "title": "Xã, phường, đặc khu",
            "x-title-en": "Commune or ward",
        },
        "street": {
            "type": "string",
            "maxLength": 300,
            "title": "Số nhà, đường, thôn",
            "x-title-en": "House number, street, village",
        },
    },
    "required": ["province", "commune", "street"],
    "additionalProperties": False,
}


def _person(prefix: str, vi: str, en: str) -> dict[str, dict]:
    return {
        f"{prefix}_name": {
            "type": "string",
            "minLength": 2,
            "maxLength": 100,
            "title": f"Họ và tên {vi}",
            "x-title-en": f"Full name of the {en}",
        },
        f"{prefix}_birth_date": {
            "type": "string",
            "format": "date",
            "title": f"Ngày sinh {vi}",
            "x-title-en": f"Date of birth of the {en}",
        },
    }


APPLICANT = {
    "applicant_name": {
        "type": "string",
        "minLength": 2,
        "maxLength": 100,
        "title": "Họ và tên người nộp hồ sơ",
        "x-title-en": "Applicant's full name",
    },
    "applicant_birth_date": {
        "type": "string",
        "format": "date",
        "title": "Ngày sinh",
        "x-title-en": "Date of birth",
    },
    "applicant_id_number": ID_NUMBER,
    "applicant_phone": PHONE,
    "applicant_email": {
        "type": "string",
        "format": "email",
        "maxLength": 254,
        "title": "Thư điện tử",
        "x-title-en": "E-mail",
    },
    "applicant_address": ADDRESS,
}
APPLICANT_REQUIRED = [
    "applicant_name",
    "applicant_birth_date",
    "applicant_id_number",
    "applicant_phone",
    "applicant_address",
]

BIRTH = {
    **_person("child", "của trẻ", "child"),
    "child_gender": {
        "type": "string",
        "enum": ["nam", "nu"],
        "title": "Giới tính của trẻ",
        "x-title-en": "Child's sex",
        "x-enum-titles": {"nam": "Nam", "nu": "Nữ"},
        "x-enum-titles-en": {"nam": "Male", "nu": "Female"},
    },
    "child_birth_place": {
        "type": "string",
        "maxLength": 300,
        "title": "Nơi sinh",
        "x-title-en": "Place of birth",
    },
    "mother_name": {
        "type": "string",
        "maxLength": 100,
        "title": "Họ và tên người mẹ",
        "x-title-en": "Mother's full name",
    },
    "father_name": {
        "type": "string",
        "maxLength": 100,
        "title": "Họ và tên người cha",
        "x-title-en": "Father's full name",
    },
}
MARRIAGE = {
    **_person("spouse", "người kết hôn cùng", "person to marry"),
    "spouse_id_number": {
        **ID_NUMBER,
        "title": "Số giấy tờ tùy thân của người kết hôn cùng",
        "x-title-en": "ID document number of the person to marry",
        "pattern": "^[A-Za-z0-9]{6,20}$",
    },
    "spouse_nationality": {
        "type": "string",
        "maxLength": 100,
        "title": "Quốc tịch",
        "x-title-en": "Nationality",
    },
}
RESIDENCE = {
    "residence_address": {
        **deepcopy(ADDRESS),
        "title": "Địa chỉ đăng ký cư trú",
        "x-title-en": "Address to register",
    },
    "household_head_name": {
        "type": "string",
        "maxLength": 100,
        "title": "Họ và tên chủ hộ",
        "x-title-en": "Head of household's full name",
    },
}
BUSINESS = {
    "business_name": {
        "type": "string",
        "minLength": 2,
        "maxLength": 300,
        "title": "Tên doanh nghiệp, hộ kinh doanh",
        "x-title-en": "Business name",
    },
    "tax_code": {
        "type": "string",
        "pattern": "^[0-9]{10}([0-9]{3})?$",
        "title": "Mã số thuế",
        "x-title-en": "Tax code",
    },
}

REQUEST = {
    "request_details": {
        "type": "string",
        "minLength": 10,
        "maxLength": 5000,
        "x-widget": "textarea",
        "title": "Nội dung đề nghị",
        "x-title-en": "What you are asking for",
    },
    "copies_requested": {
        "type": "integer",
        "minimum": 1,
        "maximum": 20,
        "default": 1,
        "title": "Số bản kết quả đề nghị cấp",
        "x-title-en": "Copies of the result",
    },
    "receive_by_post": {
        "type": "boolean",
        "default": False,
        "title": "Nhận kết quả qua dịch vụ bưu chính",
        "x-title-en": "Receive the result by post",
    },
}


def form_kind(procedure_name: str, field_names: list[str]) -> str:
    """Which group of fields a procedure's form carries: birth, marriage, residence, business
    or general."""
    name = fold(procedure_name)
    fields_text = fold(" ".join(field_names))
    if "khai sinh" in name:
        return "birth"
    if "ket hon" in name:
        return "marriage"
    if "cu tru" in fields_text or "thuong tru" in name or "tam tru" in name:
        return "residence"
    if "doanh nghiep" in name or "kinh doanh" in name or "doanh nghiep" in fields_text:
        return "business"
    return "general"


_KIND_FIELDS: dict[str, tuple[dict, list[str]]] = {
    "birth": (BIRTH, ["child_name", "child_birth_date", "child_gender", "child_birth_place", "mother_name"]),
    "marriage": (MARRIAGE, ["spouse_name", "spouse_birth_date", "spouse_id_number"]),
    "residence": (RESIDENCE, ["residence_address"]),
    "business": (BUSINESS, ["business_name"]),
    "general": ({}, []),
}


@lru_cache(maxsize=32)
def _template(kind: str, level: int) -> str:
    """The schema of a kind of form at a level, as JSON text: parsing it gives each caller
    its own copy far faster than deep-copying nested dicts (an import builds thousands)."""
    extra, extra_required = _KIND_FIELDS[kind]
    properties = {**APPLICANT, **extra, **REQUEST}
    if level == 4:
        properties["receive_online"] = {
            "type": "boolean",
            "default": True,
            "title": "Nhận kết quả điện tử trên Cổng",
            "x-title-en": "Receive the electronic result on the portal",
        }
    schema = {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "title": "",
        "x-form-kind": kind,
        "x-order": list(properties),
        "properties": properties,
        "required": APPLICANT_REQUIRED + extra_required + ["request_details"],
        "additionalProperties": False,
    }
    return json.dumps(schema, ensure_ascii=False)


def form_schema_for(procedure_name: str, field_names: list[str], level: int) -> dict:
    """The filing form of an online service of this procedure at this level (a new dict,
    the caller's to change)."""
    schema = json.loads(_template(form_kind(procedure_name, field_names), level))
    schema["title"] = procedure_name
    return schema
