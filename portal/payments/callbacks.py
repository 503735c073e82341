"""The gateway's callbacks: verify, record, answer fast (the effects are queued jobs)."""

from __future__ import annotations

import json

from flask import abort, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from portal import ratelimit
from portal.errors import PortalError, ValidationFailed
from portal.payments import callbacks_bp, service
from portal.payments.gateway import get_gateway

# A Stripe event is a few KiB; anything near this is not one.
MAX_CALLBACK_BYTES = 256 * 1024


@callbacks_bp.post("/payments/webhooks/stripe")
def stripe_webhook():
    ratelimit.hit(
        current_app.config["PAYMENT_WEBHOOK_RATE_LIMIT"], "payment-webhook", request.remote_addr or ""
    )
    if (request.content_length or 0) > MAX_CALLBACK_BYTES:
        abort(413)
    body = request.get_data(cache=False)
    if len(body) > MAX_CALLBACK_BYTES:
        abort(413)
    gateway = get_gateway("stripe")
    try:
        event = gateway.parse_callback(body, request.headers)
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError):
        raise ValidationFailed("body is not a gateway event", token="InvalidEvent") from None
    result = service.handle_callback(gateway.name, event)
    return jsonify({"received": True, "result": result})


# The gateway is a machine whatever it sends in Accept: errors always in the JSON shape.
@callbacks_bp.errorhandler(PortalError)
def _portal_error(exc: PortalError):
    return jsonify({"status_code": exc.status_code, "errors": exc.errors()}), exc.status_code


@callbacks_bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    errors = [{"error": "PayloadTooLarge", "message": "request body is larger than allowed"}]
    return jsonify({"status_code": 413, "errors": errors}), 413
