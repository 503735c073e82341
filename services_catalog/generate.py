"""A national-size synthetic catalog for benchmarks and load tests.

Synthetic records are built from the bundled real ones (their shapes, texts, fees and
documents) with new codes and varied names, so search and pages see realistic data.
Deterministic for a given seed.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
PROCEDURES_FILE = DATA_DIR / "procedures.json"
AGENCIES_FILE = DATA_DIR / "agencies.json"
PROVINCES_FILE = DATA_DIR / "provinces-2025.json"

_QUALIFIERS = [
    "cấp lại",
    "cấp đổi",
    "điều chỉnh",
    "gia hạn",
    "bổ sung",
    "thu hồi",
    "xác nhận",
    "đăng ký lại",
    "trường hợp đặc biệt",
    "đối với người nước ngoài",
    "tại khu vực biên giới",
    "cho tổ chức",
    "cho hộ kinh doanh",
    "trực tuyến",
    "liên thông",
]


def synthetic_records(count: int, *, seed: int = 20251101) -> list[dict]:
    """``count`` records in the national export's shape, with codes ``9.xxxxxx``."""
    rng = random.Random(seed)
    base = json.loads(PROCEDURES_FILE.read_text(encoding="utf-8"))
    records = []
    for number in range(count):
        record = copy.deepcopy(rng.choice(base))
        qualifier = rng.choice(_QUALIFIERS)
        record["MATTHC"] = f"9.{number:06d}"
        record["TENTTHC"] = f"{record['TENTTHC']} ({qualifier}, mẫu {number})"
        record["_SOURCE"] = "synthetic: services_catalog.generate"
        record.pop("URL", None)
        records.append(record)
    return records
