"""Initial schema: parks, firms, streams, parameters, import log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parks",
        sa.Column("park_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("province", sa.Text, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("area_ha", sa.Float),
        sa.Column("operator", sa.Text),
        sa.Column("location_quality", sa.String(16), nullable=False),
        sa.Column("location_method", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("notes", sa.Text),
    )
    op.create_table(
        "firms",
        sa.Column("firm_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("park_id", sa.String(64), sa.ForeignKey("parks.park_id"), index=True),
        sa.Column("sector_code", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("licences", sa.Text),
        sa.Column("notes", sa.Text),
    )
    op.create_table(
        "streams",
        sa.Column("stream_id", sa.String(64), primary_key=True),
        sa.Column("firm_id", sa.String(64), sa.ForeignKey("firms.firm_id"), nullable=False, index=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("material_id", sa.String(64), nullable=False, index=True),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("quantity_min", sa.Float),
        sa.Column("quantity_max", sa.Float),
        sa.Column("waste_code", sa.String(16)),
        sa.Column("hazard_mark", sa.String(8)),
        sa.Column("hazard_test_result", sa.String(16)),
        sa.Column("notes", sa.Text),
    )
    op.create_table(
        "parameters",
        sa.Column("parameter_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_date", sa.String(10), nullable=False),
        sa.Column("notes", sa.Text),
    )
    op.create_table(
        "import_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("imported_at", sa.DateTime, server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("import_log", "parameters", "streams", "firms", "parks"):
        op.drop_table(table)
