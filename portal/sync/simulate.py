"""A realistic stream of dossier events from a partner, for tests, benchmarks and partners'
own trials: dossiers filed at a counter, the usual status paths (accepted, processed, paused
for a supplement or a payment, result ready and delivered; some refused, withdrawn or
stopped), sent with duplicates and out of order, signed, in batches.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from portal.sync import signing
from portal.workdays import VN_TZ

# Status paths after receipt (2); the last status of each is final or "result ready".
PATHS = [
    [2, 4, 9, 10],
    [2, 4, 5, 4, 9, 10],
    [2, 4, 6, 4, 9, 10],
    [2, 4, 8, 4, 9, 10],
    [2, 4, 9],
    [1, 3],
    [2, 4, 7],
    [2, 4, 5, 4, 5, 4, 9, 10],
]
NOTES = {
    2: "Tiếp nhận hồ sơ tại bộ phận một cửa",
    4: "Chuyển phòng chuyên môn thẩm định",
    5: "Đề nghị bổ sung bản sao giấy khai sinh",
    6: "Đề nghị nộp lệ phí",
    8: "Tạm dừng xử lý theo đề nghị của cơ quan phối hợp",
    9: "Đã có kết quả giải quyết",
    10: "Đã trả kết quả cho công dân",
    3: "Hồ sơ không đủ điều kiện tiếp nhận",
    7: "Công dân đề nghị rút hồ sơ",
    1: "Tiếp nhận hồ sơ",
}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Thu Hà", "Quốc Huy", "Ngọc Lan", "Đức Long", "Thanh Mai"]


def generate(
    partner_code: str,
    *,
    dossiers: int,
    events: int,
    agency_code: str,
    procedure_code: str,
    seed: int | None = None,
    start: datetime | None = None,
    code_suffix: str = "",
    email_share: float = 0.3,
) -> list[dict]:
    """``events`` events over ``dossiers`` counter-filed dossiers, in the order they happened
    (each dossier's events strictly later one after the other); ``email_share`` of the
    applicants give an e-mail address (and are told of every change)."""
    rng = random.Random(seed)
    run = secrets.token_hex(3) if seed is None else f"{seed:x}"
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    per_dossier = [events // dossiers + (1 if i < events % dossiers else 0) for i in range(dossiers)]
    timeline = []
    for n, count in enumerate(per_dossier):
        if count == 0:
            continue
        received = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        day = received.astimezone(VN_TZ)
        code = f"{agency_code}-{day:%y%m%d}-{run}{n:05d}{code_suffix}"
        path = list(rng.choice(PATHS))
        while len(path) < count:  # longer lives: more supplement rounds before the result
            path[1:1] = [4, 5]
        path = path[:count]
        applicant = {
            "name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
            "id_number": f"0{rng.randrange(10**10, 10**11)}",
            "phone": f"09{rng.randrange(10**7, 10**8)}",
        }
        if rng.random() < email_share:
            applicant["email"] = f"cong.dan{n}@example.vn"
        block = {
            "procedure_code": procedure_code,
            "agency_code": agency_code,
            "channel": 1,
            "received_at": received.astimezone(VN_TZ).isoformat(),
            "applicant": applicant,
            "summary": "Hồ sơ nộp tại bộ phận một cửa",
        }
        at = received
        for k, status in enumerate(path):
            at = at + timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
            event = {
                "event_id": f"{partner_code}-{run}-{n}-{k}{code_suffix}",
                "dossier_code": code,
                "status": status,
                "occurred_at": at.astimezone(VN_TZ).isoformat(),
                "note": NOTES[status],
                "handler": {"name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", "unit": "Bộ phận một cửa"},
                # Partners send the dossier with each event: it is ignored once known, and
                # saves the first event that arrives (not always the first one) from refusal.
                "dossier": block,
            }
            timeline.append((at, event))
    timeline.sort(key=lambda pair: pair[0])
    return [event for _, event in timeline]


def disorder(events: list[dict], *, duplicates: float = 0.1, seed: int | None = None) -> list[dict]:
    """The stream as a partner's queue delivers it: shuffled, ``duplicates`` of it sent twice."""
    rng = random.Random(seed)
    stream = list(events) + [e for e in events if rng.random() < duplicates]
    rng.shuffle(stream)
    return stream


def send(
    url: str,
    partner_code: str,
    secret: str,
    stream: list[dict],
    *,
    batch: int = 500,
    client: httpx.Client | None = None,
) -> Counter:
    """Sign and POST the stream in batches to ``url`` (the portal's base URL); counts of
    results. Raises on any answer other than 200."""
    counts: Counter = Counter()
    own = client is None
    client = client or httpx.Client(timeout=60)
    try:
        for i in range(0, len(stream), batch):
            body = json.dumps({"events": stream[i : i + batch]}, ensure_ascii=False).encode()
            headers = signing.sign_headers(partner_code, secret, body)
            headers["Content-Type"] = "application/json"
            response = client.post(
                url.rstrip("/") + "/api/v1/sync/dossier-events", content=body, headers=headers
            )
            if response.status_code != 200:
                raise RuntimeError(f"the portal answered {response.status_code}: {response.text[:300]}")
            counts.update(r["result"] for r in response.json()["results"])
    finally:
        if own:
            client.close()
    return counts
