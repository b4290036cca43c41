"""jobs and end_users tables

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
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("style", sa.String(64), nullable=False),
        sa.Column("architecture", sa.String(8), nullable=True),
        sa.Column("checkpoint", sa.String(255), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("end_user_id", sa.String(128), nullable=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("input_refs", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_id", sa.String(32), nullable=True),
        sa.Column("lease_worker", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.Float, nullable=True),
        sa.Column("outcome_lease_id", sa.String(32), nullable=True),
        sa.Column("progress_step", sa.Integer, nullable=False),
        sa.Column("progress_total", sa.Integer, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("adult", sa.Boolean, nullable=False),
        sa.Column("image_count", sa.Integer, nullable=False),
        sa.Column("result_refs", sa.JSON, nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("deadline_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
    )
    op.create_index("ix_jobs_queue", "jobs", ["state", "priority", "created_at"])
    op.create_index("ix_jobs_lease_expires_at", "jobs", ["lease_expires_at"])
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    op.create_table(
        "end_users",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("strikes", sa.Integer, nullable=False),
        sa.Column("last_strike_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("end_users")
    op.drop_table("jobs")
