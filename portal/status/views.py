from flask import jsonify

from portal.status import bp
from portal.status.service import readiness


@bp.get("/healthz")
def healthz():
    """Alive: the process answers. Checks nothing else on purpose."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    report = readiness()
    return jsonify(report), (200 if report["status"] == "ok" else 503)
