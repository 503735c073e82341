"""The support desk's pages: thin routes over portal.feedback.desk and queries."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from portal import uploads
from portal.errors import NotFound, PortalError
from portal.feedback import desk, desk_bp, queries
from portal.feedback.forms import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    ActionForm,
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


def _fail(exc: PortalError, ticket_id: int | None = None):
    if exc.status_code in (403, 404):
        raise exc
    flash(exc.message, "error")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id) if ticket_id else url_for("desk.queue"))


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
    staff = current_staff()
    view = queries.staff_view(staff, ticket_id)
    assign = forms.pop("assign_form", None) or AssignForm()
    assign.assignee.choices = [("", _("Nobody"))] + [
        (str(p["id"]), p["full_name"]) for p in staff_queries.assignable_staff()
    ]
    assign.assignee.data = str(view["assignee_id"] or "")
    context = {
        "ticket": view,
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "assign_form": assign,
        "status_form": StatusForm(data={"status": view["status"]}),
        "merge_form": NumberForm(prefix="merge"),
        "link_form": NumberForm(prefix="link"),
        "forward_form": ForwardForm(),
        "publication_form": PublicationForm(
            data={
                "question_title": view["title"],
                "question": view["content"],
                "answer": (view["messages"] or [{}])[-1].get("body", ""),
            }
        ),
        "canned": queries.canned_responses(staff),
        "canned_id": request.args.get("mau", type=int),
    }
    if context["canned_id"]:
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


@desk_bp.post("/<int:ticket_id>/tra-loi")
def reply(ticket_id: int):
    form = ReplyForm()
    if not form.validate_on_submit():
        return _ticket_page(ticket_id, 400, reply_form=form)
    try:
        desk.reply(current_staff(), ticket_id, form.body.data, then=form.then.data)
    except PortalError as exc:
        return _fail(exc, ticket_id)
    flash(_("The reply is sent to the citizen."), "success")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/ghi-chu")
def note(ticket_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        return _ticket_page(ticket_id, 400, note_form=form)
    try:
        desk.note(current_staff(), ticket_id, form.body.data)
    except PortalError as exc:
        return _fail(exc, ticket_id)
    flash(_("The internal note is saved."), "success")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/phan-cong")
def assign(ticket_id: int):
    form = AssignForm()
    form.assignee.choices = None  # any value; the service checks it
    if ActionForm().validate_on_submit():
        unsafe = request.form.get("assignee", "")
        try:
            desk.assign(current_staff(), ticket_id, int(unsafe) if unsafe.isdigit() else None)
        except PortalError as exc:
            return _fail(exc, ticket_id)
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/trang-thai")
def status(ticket_id: int):
    form = StatusForm()
    if form.validate_on_submit():
        try:
            desk.set_status(current_staff(), ticket_id, form.status.data)
        except PortalError as exc:
            return _fail(exc, ticket_id)
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/gop")
def merge(ticket_id: int):
    form = NumberForm(prefix="merge")
    if form.validate_on_submit():
        try:
            desk.merge(current_staff(), ticket_id, form.number.data)
        except PortalError as exc:
            return _fail(exc, ticket_id)
        flash(_("The ticket is merged."), "success")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/lien-ket")
def link(ticket_id: int):
    form = NumberForm(prefix="link")
    if form.validate_on_submit():
        try:
            desk.link(current_staff(), ticket_id, form.number.data)
        except PortalError as exc:
            return _fail(exc, ticket_id)
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/chuyen")
def forward(ticket_id: int):
    form = ForwardForm()
    if form.validate_on_submit():
        try:
            desk.forward(current_staff(), ticket_id, form.agency_code.data, form.reason.data)
        except PortalError as exc:
            return _fail(exc, ticket_id)
        flash(_("The ticket is forwarded."), "success")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@desk_bp.post("/<int:ticket_id>/cong-khai")
def propose(ticket_id: int):
    form = PublicationForm()
    if form.validate_on_submit():
        try:
            desk.propose_publication(
                current_staff(),
                ticket_id,
                unsafe_title=form.question_title.data,
                unsafe_question=form.question.data,
                unsafe_answer=form.answer.data,
            )
        except PortalError as exc:
            return _fail(exc, ticket_id)
        flash(_("The question and answer wait for a supervisor's approval."), "success")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


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
            if exc.status_code in (403, 404):
                raise
            form.form_errors.append(exc.message)
            status = 400
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
            form.form_errors.append(exc.message)
            status = 400
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
            form.form_errors.append(exc.message)
            status = 400
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
            if exc.status_code in (403, 404):
                raise
            form.form_errors.append(exc.message)
            status = 400
        else:
            flash(_("The publication is reviewed."), "success")
            return redirect(url_for("desk.publications"))
    elif request.method == "POST":
        status = 400
    return render_template("feedback/desk/publication.html", form=form, item=item), status
