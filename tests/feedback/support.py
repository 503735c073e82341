"""Helpers for feedback tests: the form as a browser sends it, links from real e-mails."""

from __future__ import annotations

import re

from tests.web import submit_form

FORM = {
    "category": "dossier",
    "dossier_code": "000.00.01.H22-261120-0001",
    "procedure_code": "",
    "agency_code": "",
    "title": "Hồ sơ quá hạn chưa trả kết quả",
    "content": "Tôi nộp hồ sơ từ tháng trước, đến nay đã quá hạn nhưng chưa nhận được kết quả.",
    "contact_name": "Trần Thị Bình",
    "contact_email": "",
    "contact_phone": "0912345678",
}


def send_feedback(client, **changes):
    return submit_form(client, "/phan-anh-kien-nghi/gui", {**FORM, **changes})


def link_in(smtp, address: str, path: str) -> str:
    """The path and query of the newest link to ``path`` e-mailed to ``address``."""
    for message in reversed(smtp.to(address)):
        match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", smtp.body(message))
        if match:
            return match.group(1)
    raise AssertionError(f"no link to {path} in mail to {address}")
