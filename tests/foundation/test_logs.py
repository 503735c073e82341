import json
import logging

from portal.logs import JsonFormatter


def test_json_log_lines_carry_the_request_id_and_extra_fields(app):
    formatter = JsonFormatter()
    with app.test_request_context("/healthz", headers={"X-Request-Id": "req-42"}):
        app.preprocess_request()
        record = logging.makeLogRecord(
            {
                "msg": "imported %s",
                "args": ("x",),
                "name": "portal.test",
                "levelname": "INFO",
                "levelno": 20,
                "count": 3,
            }
        )
        line = json.loads(formatter.format(record))
    assert line["message"] == "imported x"
    assert line["request_id"] == "req-42"
    assert line["count"] == 3


def test_request_logs_record_method_path_and_status_but_no_headers_or_query_secrets(client, caplog):
    caplog.set_level(logging.INFO, logger="portal.access")
    client.get("/healthz?token=hunter2", headers={"Authorization": "Bearer hunter2", "Cookie": "s=hunter2"})
    records = [r for r in caplog.records if r.name == "portal.access"]
    assert records, "no access log line was written"
    record = records[-1]
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    assert "hunter2" not in json.dumps({k: str(v) for k, v in vars(record).items()})
