"""The sync API (JSON, signed by partners) and signed file links. Thin: parse, call, answer."""

from __future__ import annotations

from flask import g, jsonify, request, send_file

from portal.db import utcnow
from portal.sync import bp, feed, files_bp, ingest, service
from portal.sync.validation import parse_batch


@bp.post("/dossier-events")
def dossier_events():
    items = parse_batch(request.get_data(cache=True), now=utcnow())
    partner = g.sync_partner
    return jsonify({"results": ingest.ingest(partner["code"], partner["source"], items)})


@bp.get("/dossiers")
def dossiers():
    return jsonify(feed.page(g.sync_partner["code"], request.args.get("after"), request.args.get("limit")))


@files_bp.get("/<token>")
def download(token: str):
    path, name, content_type = service.open_linked_file(g.sync_attachment_id)
    response = send_file(path, mimetype=content_type, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
