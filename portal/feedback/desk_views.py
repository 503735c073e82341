"""The support desk's pages: thin routes over portal.feedback.desk and queries."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from portal import uploads
from portal.errors import NotFound, PortalError, errors_into
from portal.feedback import desk, desk_bp, queries
from portal.feedback.forms import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    AssignForm,
    CallForm,
    CannedForm,
    ForwardForm,
    NoteForm,
    NumberForm,
    PublicationForm,
    ReplyForm,
    StatusForm,
)
from portal.staff import current_staff
from portal.staff import queries as staff_queries
from portal.staff.roles import can


@desk_bp.context_processor
def labels():
    return {
        "category_labels": CATEGORY_LABELS,
        "status_labels": STATUS_LABELS,
        "can": lambda p: can(current_staff(), p),
    }


# An invalid form is answered, never dropped: the page it lives on comes back (400, or the
# service's 409) with the error next to the field, a summary at the top naming what was
# wrong, and what the agent typed still in the form. Refusals of access stay refusals.
_PASS_THROUGH = (401, 403, 404, 429)


def _what_was_wrong(form) -> str:
    """One readable line for the top of the page: the first error, with its field's label."""
    if form.form_errors:
        return str(form.form_errors[0])
    for field in form:
        if field.errors and field.name != "csrf_token":
            return f"{field.label.text}: {field.errors[0]}"
    return _("The form could not be used. Please try again.")


def _refused(ticket_id: int, key: str, form, exc: PortalError | None = None, main_field: str | None = None):
    """Re-render the ticket with ``form`` (under its template name ``key``) and its errors."""
    if exc is not None:
        if exc.status_code in _PASS_THROUGH:
            raise exc
        errors_into(form, exc, main_field=main_field)
    status = exc.status_code if exc is not None else 400
    return _ticket_page(
        ticket_id,
        status,
        action_error=_("Nothing was saved. %(reason)s", reason=_what_was_wrong(form)),
        **{key: form},
    )


def _refused_here(form, exc: PortalError) -> int:
    """For pages with one form: the service's errors into the form; the status to answer."""
    if exc.status_code in _PASS_THROUGH:
        raise exc
    errors_into(form, exc)
    return exc.status_code


def _assign_choices(form: AssignForm) -> AssignForm:
    form.assignee.choices = [("", _("Nobody"))] + [
        (str(p["id"]), p["full_name"]) for p in staff_queries.assignable_staff()
    ]
    return form


@desk_bp.get("/")
def queue():
    name = request.args.get("queue", "new")
    name = name if name in queries.QUEUES else "new"
    category = request.args.get("category") if request.args.get("category") in CATEGORY_LABELS else None
    items, has_next = queries.queue(
        current_staff(),
        name,
        category=category,
        unsafe_q=request.args.get("q"),
        agency_id=request.args.get("agency", type=int),
        page=request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "feedback/desk/queue.html",
        items=items,
        has_next=has_next,
        queue=name,
        queues=queries.QUEUES,
        category=category,
        q=request.args.get("q", "")[:200],
    )


def _ticket_page(ticket_id: int, status: int = 200, **forms):
    """The ticket and its forms. Forms not handed in are blank (never bound to this
    request's POST: a refused reply must not land in the note box)."""
    staff = current_staff()
    view = queries.staff_view(staff, ticket_id)
    if "assign_form" not in forms:
        forms["assign_form"] = _assign_choices(AssignForm(formdata=None))
        forms["assign_form"].assignee.data = str(view["assignee_id"] or "")
    context = {
        "ticket": view,
        "reply_form": ReplyForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "status_form": StatusForm(formdata=None, data={"status": view["status"]}),
        "merge_form": NumberForm(formdata=None, prefix="merge"),
        "link_form": NumberForm(formdata=None, prefix="link"),
        "forward_form": ForwardForm(formdata=None),
        "publication_form": PublicationForm(
            formdata=None,
            data={
                "question_title": view["title"],
                "question": view["content"],
                "answer": (view["messages"] or [{}])[-1].get("body", ""),
            },
        ),
        "canned": queries.canned_responses(staff),
        "canned_id": request.args.get("mau", type=int),
        "action_error": None,
    }
    if context["canned_id"] and "reply_form" not in forms:
        chosen = next((c for c in context["canned"] if c["id"] == context["canned_id"]), None)
        if chosen is not None:
            context["reply_form"].body.data = chosen["body"]
    context.update(forms)
    return render_template("feedback/desk/ticket.html", **context), status


@desk_bp.get("/<int:ticket_id>")
def ticket(ticket_id: int):
    return _ticket_page(ticket_id)


@desk_bp.get("/<int:ticket_id>/tep")
def attachment(ticket_id: int):
    ticket = queries.ticket_for_staff(current_staff(), ticket_id)
    if not ticket.attachment_stored:
        raise NotFound("no attachment")
    return send_file(
        uploads.path_for(ticket.attachment_stored),
        mimetype=ticket.attachment_type,
        as_attachment=True,
        download_name=ticket.attachment_name,
    )


def _on_ticket(ticket_id: int, key: str, form, act, done: str, main_field: str | None = None):
    """What every form on the ticket page does: validate, ``act(form)`` through the desk
    service, then back to the ticket with ``done``; a refusal re-renders the ticket with the
    form (under its template name ``key``) and its errors, nothing saved."""
    if not form.validate_on_submit():
        return _refused(ticket_id, key, form)
    try:
        act(form)
    except PortalError as exc:
        return _refused(ticket_id, key, form, exc, main_field)
    flash(done, "success")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/tra-loi")
def reply(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "reply_form",
        ReplyForm(),
        lambda f: desk.reply(current_staff(), ticket_id, f.body.data, then=f.then.data),
        _("The reply is sent to the citizen."),
        "body",
    )


@desk_bp.post("/<int:ticket_id>/ghi-chu")
def note(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "note_form",
        NoteForm(),
        lambda f: desk.note(current_staff(), ticket_id, f.body.data),
        _("The internal note is saved."),
        "body",
    )


@desk_bp.post("/<int:ticket_id>/phan-cong")
def assign(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "assign_form",
        _assign_choices(AssignForm()),
        lambda f: desk.assign(current_staff(), ticket_id, int(f.assignee.data) if f.assignee.data else None),
        _("The assignment is saved."),
        "assignee",
    )


@desk_bp.post("/<int:ticket_id>/trang-thai")
def status(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "status_form",
        StatusForm(),
        lambda f: desk.set_status(current_staff(), ticket_id, f.status.data),
        _("The status is changed."),
        "status",
    )


@desk_bp.post("/<int:ticket_id>/gop")
def merge(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "merge_form",
        NumberForm(prefix="merge"),
        lambda f: desk.merge(current_staff(), ticket_id, f.number.data),
        _("The ticket is merged."),
        "number",
    )


@desk_bp.post("/<int:ticket_id>/lien-ket")
def link(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "link_form",
        NumberForm(prefix="link"),
        lambda f: desk.link(current_staff(), ticket_id, f.number.data),
        _("The tickets are linked."),
        "number",
    )


@desk_bp.post("/<int:ticket_id>/chuyen")
def forward(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "forward_form",
        ForwardForm(),
        lambda f: desk.forward(current_staff(), ticket_id, f.agency_code.data, f.reason.data),
        _("The ticket is forwarded."),
        "agency_code",
    )


@desk_bp.post("/<int:ticket_id>/cong-khai")
def propose(ticket_id: int):
    return _on_ticket(
        ticket_id,
        "publication_form",
        PublicationForm(),
        lambda f: desk.propose_publication(
            current_staff(),
            ticket_id,
            unsafe_title=f.question_title.data,
            unsafe_question=f.question.data,
            unsafe_answer=f.answer.data,
        ),
        _("The question and answer wait for a supervisor's approval."),
    )


@desk_bp.route("/cuoc-goi", methods=["GET", "POST"])
def calls():
    form, status = CallForm(), 200
    if form.validate_on_submit():
        try:
            call = desk.log_call(
                current_staff(),
                unsafe_caller_name=form.caller_name.data,
                unsafe_caller_phone=form.caller_phone.data,
                category=form.category.data,
                unsafe_summary=form.summary.data,
                duration_minutes=form.duration_minutes.data or 0,
                make_ticket=bool(form.make_ticket.data),
                unsafe_ticket_number=form.ticket_number.data or None,
            )
        except PortalError as exc:
            status = _refused_here(form, exc)
        else:
            flash(_("The call is logged."), "success")
            if call.ticket_id:
                return redirect(url_for("desk.ticket", ticket_id=call.ticket_id))
            return redirect(url_for("desk.calls"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "feedback/desk/calls.html", form=form, calls=queries.recent_calls(current_staff())
    ), status


@desk_bp.route("/mau-tra-loi", methods=["GET", "POST"])
def canned():
    staff = current_staff()
    form, status = CannedForm(), 200
    if form.validate_on_submit():
        try:
            desk.save_canned(
                staff,
                None,
                unsafe_title=form.title.data,
                unsafe_body=form.body.data,
                category=form.category.data or None,
                active=True,
            )
        except PortalError as exc:
            status = _refused_here(form, exc)
        else:
            flash(_("The canned response is saved."), "success")
            return redirect(url_for("desk.canned"))
    elif request.method == "POST":
        status = 400
    items = queries.canned_responses(staff, include_inactive=can(staff, "canned.manage"))
    return render_template("feedback/desk/canned.html", form=form, items=items), status


@desk_bp.route("/mau-tra-loi/<int:canned_id>", methods=["GET", "POST"])
def canned_edit(canned_id: int):
    from portal.staff.roles import require

    staff = current_staff()
    require(staff, "canned.manage")
    item = next(
        (c for c in queries.canned_responses(staff, include_inactive=True) if c["id"] == canned_id), None
    )
    if item is None:
        raise NotFound("no such canned response")
    form, status = CannedForm(data={**item, "category": item["category"] or ""}), 200
    if form.validate_on_submit():
        try:
            desk.save_canned(
                staff,
                canned_id,
                unsafe_title=form.title.data,
                unsafe_body=form.body.data,
                category=form.category.data or None,
                active=bool(form.active.data),
            )
        except PortalError as exc:
            status = _refused_here(form, exc)
        else:
            flash(_("The canned response is saved."), "success")
            return redirect(url_for("desk.canned"))
    elif request.method == "POST":
        status = 400
    return render_template("feedback/desk/canned_edit.html", form=form, item=item), status


@desk_bp.get("/cong-khai")
def publications():
    return render_template(
        "feedback/desk/publications.html", items=queries.pending_publications(current_staff())
    )


@desk_bp.route("/cong-khai/<int:publication_id>", methods=["GET", "POST"])
def publication(publication_id: int):
    staff = current_staff()
    item = queries.publication_for_staff(staff, publication_id)
    form, status = PublicationForm(data=item), 200
    if form.validate_on_submit():
        try:
            desk.review_publication(
                staff,
                publication_id,
                approve=request.form.get("decision") != "reject",
                unsafe_title=form.question_title.data,
                unsafe_question=form.question.data,
                unsafe_answer=form.answer.data,
                unsafe_note=form.note.data,
            )
        except PortalError as exc:
            status = _refused_here(form, exc)
        else:
            flash(_("The publication is reviewed."), "success")
            return redirect(url_for("desk.publications"))
    elif request.method == "POST":
        status = 400
    return render_template("feedback/desk/publication.html", form=form, item=item), status
