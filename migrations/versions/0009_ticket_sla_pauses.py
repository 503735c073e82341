"""ticket sla pauses

The support desk's SLA clock stands still while a ticket waits for the citizen: each wait
is a row of ``ticket_sla_pauses``, and ``tickets.original_due_at`` keeps the first due date
while ``due_at`` moves by the working days waited.

Existing tickets: ``original_due_at`` is their present due date; a ticket waiting now gets
an open pause from the moment it started waiting (its newest history event that moved it to
"waiting", else its last update), so its clock is paused from then on.

Also ``staff_users.password_must_change``: an administrator's password reset issues a
temporary password that its owner must replace at the next sign-in.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:40:00.000000

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_sla_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_sla_pauses_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_sla_pauses")),
    )
    with op.batch_alter_table("ticket_sla_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_sla_pauses_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_due_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_must_change", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    _backfill()


def _backfill():
    bind = op.get_bind()
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("original_due_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    events = sa.table(
        "ticket_events",
        sa.column("ticket_id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("action", sa.String),
        sa.column("detail", sa.JSON),
    )
    pauses = sa.table(
        "ticket_sla_pauses",
        sa.column("ticket_id", sa.Integer),
        sa.column("started_at", sa.DateTime(timezone=True)),
    )
    bind.execute(tickets.update().values(original_due_at=tickets.c.due_at))
    waiting = bind.execute(
        sa.select(tickets.c.id, tickets.c.updated_at).where(tickets.c.status == "waiting")
    ).all()
    for ticket_id, updated_at in waiting:
        started_at = updated_at
        rows = bind.execute(
            sa.select(events.c.at, events.c.detail)
            .where(events.c.ticket_id == ticket_id, events.c.action.in_(("status", "public_reply")))
            .order_by(events.c.at.desc())
        ).all()
        for at, detail in rows:
            detail = json.loads(detail) if isinstance(detail, str) else (detail or {})
            if detail.get("to") == "waiting":
                started_at = at
                break
        bind.execute(pauses.insert().values(ticket_id=ticket_id, started_at=started_at))


def downgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("password_must_change")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("original_due_at")

    with op.batch_alter_table("ticket_sla_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_sla_pauses_ticket_id"))

    op.drop_table("ticket_sla_pauses")
