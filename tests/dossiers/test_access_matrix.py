"""A citizen reaches only their own dossiers, drafts, files and ratings.

Every route of the ``dossiers`` blueprint that takes an object id is found by walking
``app.url_map`` (no list to keep up to date): each is requested by citizen B with GET and
POST (a valid CSRF token of B's session, and the fields and a file any of the forms wants)
for every kind of object of citizen A, and must answer 404 (405 where the method is not
routed). A's objects must be exactly as they were afterwards, files included.

The walk cannot pass by checking nothing: it must see at least the routes known today,
each GET route must serve its owner (so a 404 really is the scoping), and a deliberately
unscoped route added to a fresh app must be caught.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import abort

from portal import uploads
from portal.dossiers import service
from portal.dossiers.models import Attachment, Dossier, Rating
from portal.extensions import db
from tests.conftest import _delete_all_rows, make_test_app
from tests.dossiers.conftest import dossier_app_settings
from tests.dossiers.support import (
    make_draft,
    make_filed,
    make_service,
    partner_event,
    pdf_bytes,
    png_bytes,
    required_key,
    upload,
)
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.web import csrf_token

VN = ZoneInfo("Asia/Ho_Chi_Minh")

INT_ARGUMENT = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")
ANY_ARGUMENT = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")

# Integer URL arguments naming something public rather than a citizen's object. Any other
# id argument is walked: a new one is covered without anyone remembering to add it.
PUBLIC_ID_ARGUMENTS = {"online_service_id": "an online service of the public catalog"}

# Routes known today (following, then filing): the walk must see at least these.
KNOWN_ENDPOINTS = {
    "dossiers.dossier_page",
    "dossiers.withdraw",
    "dossiers.supplement_upload",
    "dossiers.supplement_done",
    "dossiers.rate",
    "dossiers.attachment_download",
    "dossiers.draft",
    "dossiers.save",
    "dossiers.submit",
    "dossiers.upload",
    "dossiers.remove_file",
    "dossiers.discard",
    "dossiers.receipt",
}
MIN_ROUTES = len(KNOWN_ENDPOINTS)

METHODS = ("GET", "POST")

# Routes known to answer another citizen's id with something other than 404, each with the
# fix asked for. The tests fail on any gap not listed here, and on a listed gap that is gone
# (then delete its line): the list can only shrink.
KNOWN_GAPS: dict[str, str] = {}


# ------------------------------------------------------------------------------ the world


def citizen_a_objects(owner, service_id: int, keys: dict[str, str]) -> dict[str, int]:
    """Citizen A's objects of every kind, by kind (jobs must be allowed: filing e-mails a receipt)."""
    key = required_key(keys)
    draft = make_draft(owner, service_id, files={key: pdf_bytes()})
    filed = make_filed(owner, service_id, keys)["id"]
    awaiting = make_filed(owner, service_id, keys)["id"]
    partner_event(awaiting, 5, datetime(2030, 1, 7, 9, 0, tzinfo=VN), note="Bổ sung tờ khai")
    supplement_file = service.supplement(owner, awaiting, [(key, upload(png_bytes(), "bo-sung.png"))])[0][
        "id"
    ]
    withdrawn = make_filed(owner, service_id, keys)["id"]
    service.request_withdrawal(owner, withdrawn, "Nộp nhầm")
    delivered = make_filed(owner, service_id, keys)["id"]
    partner_event(delivered, 10, datetime(2030, 1, 8, 9, 0, tzinfo=VN))
    service.rate(owner, delivered, "satisfied", "Tốt")
    return {
        "draft": draft,
        "filed dossier": filed,
        "dossier awaiting a supplement": awaiting,
        "withdrawn dossier": withdrawn,
        "delivered and rated dossier": delivered,
        "file of a draft": _first_file(draft),
        "file of a filed dossier": _first_file(filed),
        "supplement file not yet sent": supplement_file,
    }


def citizen_b_objects(user, service_id: int, keys: dict[str, str]) -> dict[str, int]:
    """B's own objects, to pair with A's in routes taking two ids."""
    draft = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
    filed = make_filed(user, service_id, keys)["id"]
    return {
        "B's draft": draft,
        "B's filed dossier": filed,
        "B's draft file": _first_file(draft),
        "B's dossier file": _first_file(filed),
    }


def _first_file(dossier_id: int) -> int:
    return db.session.scalar(
        sa.select(Attachment.id).where(Attachment.dossier_id == dossier_id).order_by(Attachment.id)
    )


def snapshot(user_id: int) -> list[dict]:
    """Everything of a citizen's that a request could change: rows, events, files and their bytes."""
    db.session.expire_all()
    dossiers = db.session.scalars(
        sa.select(Dossier).where(Dossier.user_id == user_id).order_by(Dossier.id)
    ).all()
    state = []
    for d in dossiers:
        rating = db.session.scalar(sa.select(Rating).where(Rating.dossier_id == d.id))
        state.append(
            {
                "dossier": (
                    d.id,
                    d.state,
                    d.status,
                    d.code,
                    d.form_data,
                    d.due_at,
                    d.original_due_at,
                    d.finished_at,
                    d.last_event_at,
                    d.updated_at,
                ),
                "events": [(e.id, e.status, e.result, e.note) for e in d.events],
                "pauses": [(p.id, p.status, p.started_at, p.ended_at) for p in d.pauses],
                "files": [
                    (
                        a.id,
                        a.document_key,
                        a.kind,
                        a.sha256,
                        hashlib.sha256(uploads.path_for(a.stored_name).read_bytes()).hexdigest(),
                    )
                    for a in d.attachments
                ],
                "rating": (rating.value, rating.comment) if rating else None,
            }
        )
    return state


# ------------------------------------------------------------------------------- the walk


def id_routes(app) -> list:
    """Rules of the ``dossiers`` blueprint with at least one id argument naming a citizen's object."""
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] != "dossiers":
            continue
        if any(name not in PUBLIC_ID_ARGUMENTS for name in INT_ARGUMENT.findall(rule.rule)):
            rules.append(rule)
    return sorted(rules, key=lambda r: (r.rule, sorted(r.methods)))


def path_of(rule, values: dict) -> str:
    return ANY_ARGUMENT.sub(lambda m: str(values[m.group(1)]), rule.rule)


def combinations(rule, pool: dict[str, int], *, fixed: dict) -> list[tuple[str, dict]]:
    """(description, URL values) for every way of filling the rule's object ids from ``pool``."""
    object_args = [n for n in INT_ARGUMENT.findall(rule.rule) if n not in PUBLIC_ID_ARGUMENTS]
    other_args = {
        n: fixed.get(n, fixed["*"]) for n in ANY_ARGUMENT.findall(rule.rule) if n not in object_args
    }
    result = []
    for kinds in itertools.product(pool, repeat=len(object_args)):
        values = {**other_args, **{arg: pool[kind] for arg, kind in zip(object_args, kinds, strict=True)}}
        result.append((" + ".join(kinds), values))
    return result


def request_as(client, method: str, path: str, token: str, key: str):
    if method == "GET":
        return client.get(path)
    # Whatever any of the dossier forms asks for, so a refusal cannot come from a missing field.
    data = {
        "csrf_token": token,
        "reason": "Rút giúp",
        "confirm": "y",
        "value": "not_satisfied",
        "comment": "x",
        "document_key": key,
        "file": (io.BytesIO(pdf_bytes()), "b.pdf"),
        f"doc-{key}": (io.BytesIO(pdf_bytes()), "b.pdf"),
    }
    return client.post(path, data=data)


def unscoped_answers(
    client, rules, pool: dict[str, int], *, fixed: dict, token: str, key: str, must_include=None
) -> tuple[list[str], int]:
    """Request every rule with every fill from ``pool`` by GET and POST; return the answers that
    were not a 404 (or a 405 for a method the rule does not route), and how many requests were made.

    ``must_include``: keep only fills using at least one of these kinds.
    """
    problems, count = [], 0
    for rule in rules:
        for description, values in combinations(rule, pool, fixed=fixed):
            if must_include is not None and not any(
                kind in must_include for kind in description.split(" + ")
            ):
                continue
            path = path_of(rule, values)
            for method in METHODS:
                status = request_as(client, method, path, token, key).status_code
                count += 1
                routed = method in rule.methods
                if status != 404 and (routed or status != 405):
                    problems.append(
                        f"{method} {path} ({rule.endpoint} with A's {description}) answered {status}"
                    )
    return problems, count


# ---------------------------------------------------------------------------------- tests


@pytest.fixture
def world(app, client, jobs, upload_dir):
    """Citizen A's objects of every kind, and citizen B signed in on ``client`` owning nothing yet."""
    owner_client = app.test_client()
    owner = sign_in_citizen(owner_client)
    service_id, keys = make_service(processing_days=5)
    objects = citizen_a_objects(owner, service_id, keys)
    other = sign_in_citizen(client, full_name="Lê Văn Cường", email="cuong@example.vn", phone="0987654321")
    token = csrf_token(client.get("/tra-cuu-ho-so").get_data(as_text=True))
    return {
        "a": owner,
        "b": other,
        "a_client": owner_client,
        "objects": objects,
        "service_id": service_id,
        "keys": keys,
        "key": required_key(keys),
        "token": token,
        "fixed": {"online_service_id": service_id, "*": required_key(keys)},
    }


def test_the_walk_finds_every_known_route_that_takes_an_id(app):
    rules = id_routes(app)
    endpoints = {rule.endpoint for rule in rules}
    assert len(rules) >= MIN_ROUTES
    assert KNOWN_ENDPOINTS <= endpoints, f"missing: {KNOWN_ENDPOINTS - endpoints}"


def test_another_citizen_gets_404_from_every_route_for_every_kind_of_object_and_changes_nothing(
    app, client, world
):
    rules = id_routes(app)
    before = snapshot(world["a"].id)
    assert len(before) == 5 and sum(len(d["files"]) for d in before) == 6

    problems, count = unscoped_answers(
        client, rules, world["objects"], fixed=world["fixed"], token=world["token"], key=world["key"]
    )

    assert not problems, "\n".join(problems)
    assert count >= MIN_ROUTES * len(world["objects"]) * len(METHODS)
    assert snapshot(world["a"].id) == before
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Dossier).where(Dossier.user_id == world["b"].id)
        )
        == 0
    )  # B gained nothing either


def test_pairing_ones_own_object_with_another_citizens_id_gets_404_too(app, client, world):
    b_objects = citizen_b_objects(world["b"], world["service_id"], world["keys"])
    b_ids = set(b_objects.values())
    # An id of A's that happens to equal one of B's own (in another table) is B's to open.
    a_objects = {kind: value for kind, value in world["objects"].items() if value not in b_ids}
    rules = [
        rule
        for rule in id_routes(app)
        if len([n for n in INT_ARGUMENT.findall(rule.rule) if n not in PUBLIC_ID_ARGUMENTS]) > 1
    ]
    before = snapshot(world["a"].id)

    problems, _count = unscoped_answers(
        client,
        rules,
        {**a_objects, **b_objects},
        fixed=world["fixed"],
        token=world["token"],
        key=world["key"],
        must_include=set(a_objects),
    )

    new_gaps = [problem for problem in problems if _endpoint_of(problem) not in KNOWN_GAPS]
    assert not new_gaps, "\n".join(new_gaps)
    still_open = {_endpoint_of(problem) for problem in problems}
    assert still_open == set(KNOWN_GAPS), f"fixed, remove from KNOWN_GAPS: {set(KNOWN_GAPS) - still_open}"
    assert snapshot(world["a"].id) == before


def _endpoint_of(problem: str) -> str:
    return problem.split(" (", 1)[1].split(" ", 1)[0]


def test_every_get_route_serves_its_owner_so_the_404s_above_are_the_scoping(app, world):
    unserved = []
    for rule in id_routes(app):
        if "GET" not in rule.methods:
            continue
        answers = {
            world["a_client"].get(path_of(rule, values)).status_code
            for _description, values in combinations(rule, world["objects"], fixed=world["fixed"])
        }
        if answers <= {404}:
            unserved.append(rule.rule)
    assert unserved == []


def test_a_route_added_without_owner_scoping_is_caught_by_the_walk(_tmp_root):
    suffix = "access-matrix-leak"
    leaky_app = make_test_app(
        _tmp_root, suffix, JOBS_MODE="inline", **dossier_app_settings(_tmp_root, suffix)
    )

    def leaky(dossier_id: int):
        dossier = db.session.get(Dossier, dossier_id)  # the mistake on purpose: not scoped to the citizen
        if dossier is None:
            abort(404)
        return dossier.code or "draft"

    leaky_app.add_url_rule(
        "/ho-so/<int:dossier_id>/lo-hong", endpoint="dossiers.leaky_for_test", view_func=leaky
    )
    try:
        with leaky_app.app_context():
            owner = sign_in_citizen(leaky_app.test_client())
            service_id, keys = make_service()
            objects = citizen_a_objects(owner, service_id, keys)
            client = leaky_app.test_client()
            sign_in_citizen(client, full_name="Lê Văn Cường", email="cuong@example.vn", phone="0987654321")
            token = csrf_token(client.get("/tra-cuu-ho-so").get_data(as_text=True))
            rules = [rule for rule in id_routes(leaky_app) if rule.endpoint == "dossiers.leaky_for_test"]
            assert len(rules) == 1  # found by the walk, not named to it

            problems, _count = unscoped_answers(
                client, rules, objects, fixed={"*": required_key(keys)}, token=token, key=required_key(keys)
            )

            leaked = {problem.split(" (", 1)[0] for problem in problems}
            assert {
                f"GET /ho-so/{objects[kind]}/lo-hong"
                for kind in ("draft", "filed dossier", "withdrawn dossier", "delivered and rated dossier")
            } <= leaked
            db.session.remove()
    finally:
        _delete_all_rows(leaky_app)
