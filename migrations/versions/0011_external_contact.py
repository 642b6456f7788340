"""When an external run's client was last heard (a batch, a heartbeat, its end), and when the
scheduler gave it up as abandoned because its client went silent while the server was up.

Revision ID: 0011_external_contact
Revises: 0010_external_runs
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_external_contact"
down_revision: str | None = "0010_external_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True))
    # Runs that were running before this revision count as heard from now, so none is given
    # up the moment the scheduler first looks.
    op.execute(
        sa.text(
            "UPDATE runs SET last_contact_at = CURRENT_TIMESTAMP "
            "WHERE kind = 'external' AND state = 'running'"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("abandoned_at")
        batch.drop_column("last_contact_at")
