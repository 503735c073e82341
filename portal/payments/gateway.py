"""The small interface every payment gateway implements, and the plain values it returns.

The payment domain (service, receipts, refunds, reconciliation) sees only these: a second
gateway (the national payment platform's signed IPN, VNPay-style) is a new class in
``clients.py`` registered in :data:`GATEWAYS`, with no change to the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from flask import current_app

from portal.errors import PortalError


class GatewayError(PortalError):
    """The gateway refused or could not be reached. ``message`` never carries secrets."""

    status_code = 502
    token = "GatewayError"


class SignatureRejected(PortalError):
    """A callback whose signature is missing, wrong (``InvalidSignature``) or too old
    (``StaleTimestamp``)."""

    status_code = 401
    token = "InvalidSignature"


@dataclass(frozen=True)
class GatewayPayment:
    """What the gateway says about one payment, in the portal's words.

    ``state`` is one of the portal's payment states (created, processing, succeeded,
    failed, cancelled); ``amount`` in đồng; ``currency`` upper case.
    """

    ref: str
    state: str
    amount: int
    currency: str
    client_secret: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    metadata: dict = field(default_factory=dict)
    amount_refunded: int | None = None


@dataclass(frozen=True)
class GatewayRefund:
    ref: str
    payment_ref: str | None
    amount: int
    state: str  # pending | succeeded | failed
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayCharge:
    """A charge (money actually taken) in a reconciliation listing."""

    ref: str
    payment_ref: str | None
    amount: int
    currency: str
    created: int
    paid: bool


@dataclass(frozen=True)
class GatewayEvent:
    """A verified callback: its unique id, type, time (unix) and what it is about."""

    id: str
    type: str
    created: int | None
    payment: GatewayPayment | None = None
    refunds: tuple[GatewayRefund, ...] = ()
    # The payment the event names when it is not a payment object (a charge, a refund).
    payment_ref: str | None = None
    payload: dict = field(default_factory=dict)


class Gateway(Protocol):
    name: str

    def create(
        self, *, amount: int, currency: str, metadata: dict, idempotency_key: str
    ) -> GatewayPayment: ...

    def confirm(self, ref: str, *, payment_method: str, idempotency_key: str) -> GatewayPayment: ...

    def retrieve(self, ref: str) -> GatewayPayment: ...

    def cancel(self, ref: str, *, idempotency_key: str) -> GatewayPayment: ...

    def refund(self, ref: str, *, amount: int, metadata: dict, idempotency_key: str) -> GatewayRefund: ...

    def list_charges(self, start: int, end: int) -> list[GatewayCharge]: ...

    def parse_callback(self, body: bytes, headers) -> GatewayEvent: ...


GATEWAYS: dict[str, type] = {}


def register(cls: type) -> type:
    GATEWAYS[cls.name] = cls
    return cls


def get_gateway(name: str | None = None) -> Gateway:
    """The configured gateway (PAYMENT_GATEWAY), built from this app's configuration.

    :raises GatewayError: payments are not configured.
    """
    from portal.payments import clients  # noqa: F401 - registers the gateways

    name = name or current_app.config.get("PAYMENT_GATEWAY", "stripe")
    cache = current_app.extensions.setdefault("payment_gateways", {})
    if name not in cache:
        if name not in GATEWAYS:
            raise GatewayError(f"unknown payment gateway {name!r}")
        cache[name] = GATEWAYS[name].from_config(current_app.config)
    return cache[name]
