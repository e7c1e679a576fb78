"""Storage: the schema, its migrations and transaction boundaries (SQLite or PostgreSQL)."""

from egide.store.database import Database
from egide.store.ids import MAX_PUBLIC_ID, PUBLIC_ID, fresh_ids, random_id
from egide.store.labels import all_labels, intern_label
from egide.store.models import (
    MAX_ID,
    ApiKeyRecord,
    AuditCheckpointRecord,
    AuditEntryRecord,
    Base,
    ConsoleLoginRecord,
    ConsoleSessionRecord,
    FlagRecord,
    LabelRecord,
    OrganisationRecord,
    PrincipalRecord,
    utcnow,
)

__all__ = [
    "MAX_ID",
    "MAX_PUBLIC_ID",
    "PUBLIC_ID",
    "ApiKeyRecord",
    "AuditCheckpointRecord",
    "AuditEntryRecord",
    "Base",
    "ConsoleLoginRecord",
    "ConsoleSessionRecord",
    "Database",
    "FlagRecord",
    "LabelRecord",
    "OrganisationRecord",
    "PrincipalRecord",
    "all_labels",
    "fresh_ids",
    "intern_label",
    "random_id",
    "utcnow",
]
