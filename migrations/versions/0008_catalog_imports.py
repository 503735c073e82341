"""catalog imports: who started each run, and its warnings

``catalog_imports`` already had one row per run with its counts and rejected records; the
back office's list of imports also shows the warnings and who started the run (a staff
member's e-mail from the screen, ``flask catalog`` from the shell).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("catalog_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("started_by", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("catalog_imports", schema=None) as batch_op:
        batch_op.drop_column("started_by")
        batch_op.drop_column("warnings")
