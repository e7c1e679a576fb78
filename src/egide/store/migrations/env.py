"""Alembic environment: always run with a connection handed over by ``Database.migrate``.

Égide never reads an ``alembic.ini``; ``egide.store.database`` builds the
Alembic configuration in code and passes its open connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from egide.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through egide.store.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
