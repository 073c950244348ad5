"""Match runs and their links, saved with the parameters used.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("objective", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("solver", sa.String(32), nullable=False),
        sa.Column("parameters_json", sa.Text, nullable=False),
        sa.Column("kpis_json", sa.Text, nullable=False),
        sa.Column("links", sa.Integer, nullable=False),
    )
    op.create_table(
        "match_links",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("match_runs.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("supply_stream_id", sa.String(64), primary_key=True),
        sa.Column("demand_stream_id", sa.String(64), primary_key=True),
        sa.Column("supplier_firm_id", sa.String(64), nullable=False),
        sa.Column("receiver_firm_id", sa.String(64), nullable=False),
        sa.Column("material_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("quantity_received", sa.Float, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("distance_km", sa.Float, nullable=False),
        sa.Column("transport_cost_vnd", sa.Float, nullable=False),
        sa.Column("landfill_avoided_t", sa.Float, nullable=False),
        sa.Column("co2e_avoided_t", sa.Float, nullable=False),
        sa.Column("legal_status", sa.String(32), nullable=False),
        sa.Column("explanation_vi", sa.Text),
        sa.Column("explanation_en", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("match_links")
    op.drop_table("match_runs")
