"""Gateways: one class per outside payment system.

:class:`StripeGateway` talks to any Stripe-compatible API (Stripe itself, localstripe in
tests and demos) through the official SDK on its requests client, with the API base and
keys from configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import stripe

from portal.payments.gateway import (
    GatewayCharge,
    GatewayError,
    GatewayEvent,
    GatewayPayment,
    GatewayRefund,
    SignatureRejected,
    register,
)

log = logging.getLogger(__name__)

# Stripe's PaymentIntent statuses in the portal's words. ``requires_payment_method`` is
# "created" until an attempt failed (then ``last_payment_error`` says why).
_STATES = {
    "requires_payment_method": "created",
    "requires_confirmation": "processing",
    "requires_action": "processing",
    "processing": "processing",
    "requires_capture": "processing",
    "succeeded": "succeeded",
    "canceled": "cancelled",
}

SIGNATURE_TOLERANCE = 300
MAX_SIGNATURES = 8


def _get(obj, key, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _plain(obj) -> dict:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _ref(value) -> str | None:
    """An id, whether the API sent the object expanded or as its id."""
    if value is None or isinstance(value, str):
        return value
    return _get(value, "id")


def payment_from_intent(intent) -> GatewayPayment:
    status = _get(intent, "status")
    error = _plain(_get(intent, "last_payment_error"))
    state = _STATES.get(status, "processing")
    if status == "requires_payment_method" and error:
        state = "failed"
    charge = _get(intent, "latest_charge")
    refunded = _get(charge, "amount_refunded") if charge is not None and not isinstance(charge, str) else None
    return GatewayPayment(
        ref=_get(intent, "id"),
        state=state,
        amount=int(_get(intent, "amount")),
        currency=str(_get(intent, "currency") or "").upper(),
        client_secret=_get(intent, "client_secret"),
        failure_code=(error.get("code") or None) if error else None,
        failure_message=(str(error.get("message"))[:300] if error.get("message") else None)
        if error
        else None,
        metadata=dict(_plain(_get(intent, "metadata"))),
        amount_refunded=int(refunded) if refunded is not None else None,
    )


def refund_from_object(obj) -> GatewayRefund:
    return GatewayRefund(
        ref=_get(obj, "id"),
        payment_ref=_ref(_get(obj, "payment_intent")),
        amount=int(_get(obj, "amount")),
        state={"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            _get(obj, "status"), "pending"
        ),
        metadata=dict(_plain(_get(obj, "metadata"))),
    )


def verify_signature(body: bytes, header: str | None, secrets: list[str], now: int | None = None) -> int:
    """Check a ``Stripe-Signature`` header (``t=<unix>,v1=<hex>[,v1=<hex>...]``) and return
    its timestamp. Any ``v1`` may match any secret (rotation); every comparison is
    constant-time; the timestamp must be within 300 s of now.

    :raises SignatureRejected: ``InvalidSignature`` (missing, malformed, no match) or
        ``StaleTimestamp``.
    """
    if not header or not secrets or len(header) > 2048:
        raise SignatureRejected("signature does not match")
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and len(signatures) < MAX_SIGNATURES:
            signatures.append(value.encode("ascii", "replace"))
    if timestamp is None or not signatures:
        raise SignatureRejected("signature does not match")
    signed = str(timestamp).encode() + b"." + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest().encode() for s in secrets]
    # Compare every pair, so the time taken says nothing about which one matched.
    matched = False
    for candidate in signatures:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate, wanted)
    if not matched:
        raise SignatureRejected("signature does not match")
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE:
        raise SignatureRejected("timestamp is outside the tolerance", token="StaleTimestamp")
    return timestamp


def sign_payload(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value for ``body`` (tests and the benchmark)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@register
class StripeGateway:
    """A Stripe-compatible gateway: PaymentIntents in VND (zero-decimal: the amount is
    whole đồng), with idempotency keys the caller derives from its own ids."""

    name = "stripe"

    def __init__(
        self, *, api_key: str, api_base: str | None, webhook_secrets: list[str], timeout: float = 20
    ):
        if not api_key:
            raise GatewayError("the payment gateway is not configured (STRIPE_SECRET_KEY)")
        addresses = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(
            api_key,
            base_addresses=addresses,
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=2,
        )
        self.webhook_secrets = webhook_secrets

    @classmethod
    def from_config(cls, config) -> StripeGateway:
        secrets = [s.strip() for s in (config.get("STRIPE_WEBHOOK_SECRET") or "").split(",") if s.strip()]
        return cls(
            api_key=config.get("STRIPE_SECRET_KEY") or "",
            api_base=config.get("STRIPE_API_BASE"),
            webhook_secrets=secrets,
            timeout=float(config.get("STRIPE_TIMEOUT_SECONDS", 20)),
        )

    def _call(self, what: str, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except stripe.CardError:
            raise
        except stripe.StripeError as exc:
            # The SDK's message may echo request details; log its class and code only.
            log.warning(
                "gateway call failed", extra={"call": what, "error": type(exc).__name__, "code": exc.code}
            )
            raise GatewayError("the payment gateway refused or could not be reached") from None

    def create(self, *, amount: int, currency: str, metadata: dict, idempotency_key: str) -> GatewayPayment:
        intent = self._call(
            "create",
            self.client.v1.payment_intents.create,
            params={
                "amount": int(amount),
                "currency": currency.lower(),
                "metadata": {k: str(v) for k, v in metadata.items()},
            },
            options={"idempotency_key": idempotency_key},
        )
        return payment_from_intent(intent)

    def confirm(self, ref: str, *, payment_method: str, idempotency_key: str) -> GatewayPayment:
        """Attach the card the browser tokenised and confirm. A declined card is not an
        error here: the answer says ``failed``.
        """
        self._call(
            "attach",
            self.client.v1.payment_intents.update,
            ref,
            params={"payment_method": payment_method},
            options={"idempotency_key": idempotency_key + "-pm"},
        )
        try:
            intent = self._call(
                "confirm",
                self.client.v1.payment_intents.confirm,
                ref,
                options={"idempotency_key": idempotency_key + "-confirm"},
            )
        except stripe.CardError:
            return self.retrieve(ref)
        return payment_from_intent(intent)

    def retrieve(self, ref: str) -> GatewayPayment:
        return payment_from_intent(self._call("retrieve", self.client.v1.payment_intents.retrieve, ref))

    def cancel(self, ref: str, *, idempotency_key: str) -> GatewayPayment:
        """Cancel an open payment; when it can no longer be cancelled (it succeeded
        meanwhile), answer its true state instead.
        """
        try:
            intent = self.client.v1.payment_intents.cancel(ref, options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError:
            return self.retrieve(ref)
        except stripe.StripeError as exc:
            log.warning("gateway call failed", extra={"call": "cancel", "error": type(exc).__name__})
            raise GatewayError("the payment gateway refused or could not be reached") from None
        return payment_from_intent(intent)

    def refund(self, ref: str, *, amount: int, metadata: dict, idempotency_key: str) -> GatewayRefund:
        refund = self._call(
            "refund",
            self.client.v1.refunds.create,
            params={
                "payment_intent": ref,
                "amount": int(amount),
                "metadata": {k: str(v) for k, v in metadata.items()},
            },
            options={"idempotency_key": idempotency_key},
        )
        result = refund_from_object(refund)
        return result if result.payment_ref else GatewayRefund(**{**result.__dict__, "payment_ref": ref})

    def list_charges(self, start: int, end: int) -> list[GatewayCharge]:
        """Charges created in [start, end), unix seconds, every page.

        Only ``created[gt]`` is sent: Stripe accepts more bounds, but Stripe-compatible
        stand-ins (localstripe) take one; the upper bound is applied here.
        """
        page = self._call(
            "list charges", self.client.v1.charges.list, params={"created": {"gt": start - 1}, "limit": 100}
        )
        charges = []
        for charge in page.auto_paging_iter():
            created = int(_get(charge, "created"))
            if not start <= created < end:
                continue
            charges.append(
                GatewayCharge(
                    ref=_get(charge, "id"),
                    payment_ref=_ref(_get(charge, "payment_intent")),
                    amount=int(_get(charge, "amount")),
                    currency=str(_get(charge, "currency") or "").upper(),
                    created=created,
                    paid=_get(charge, "status") == "succeeded",
                )
            )
        return charges

    def parse_callback(self, body: bytes, headers) -> GatewayEvent:
        """Verify and read a webhook.

        :raises SignatureRejected: see :func:`verify_signature`.
        :raises ValueError: the body is not an event.
        """
        verify_signature(body, headers.get("Stripe-Signature"), self.webhook_secrets)
        event = json.loads(body)
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("id"), str)
            or not isinstance(event.get("type"), str)
        ):
            raise ValueError("not an event")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        if not isinstance(obj, dict):
            raise ValueError("not an event")
        kind = obj.get("object")
        payment = refunds = None
        payment_ref = None
        if kind == "payment_intent":
            payment = payment_from_intent(obj)
            payment_ref = payment.ref
        elif kind == "charge":
            payment_ref = _ref(obj.get("payment_intent"))
            listed = (obj.get("refunds") or {}).get("data") or []
            refunds = tuple(refund_from_object(r) for r in listed if isinstance(r, dict))
            refunds = tuple(
                r if r.payment_ref else GatewayRefund(**{**r.__dict__, "payment_ref": payment_ref})
                for r in refunds
            )
        elif kind == "refund":
            refund = refund_from_object(obj)
            payment_ref = refund.payment_ref
            refunds = (refund,)
        created = event.get("created")
        return GatewayEvent(
            id=event["id"][:128],
            type=event["type"][:64],
            created=int(created) if isinstance(created, int) else None,
            payment=payment,
            refunds=refunds or (),
            payment_ref=payment_ref,
            payload=event,
        )
