"""Scenarios (a named list of changes to the base data) and which scenario a run belongs to.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("scenario_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("changes_json", sa.Text, nullable=False),
    )
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("scenario_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.drop_column("scenario_id")
    op.drop_table("scenarios")
