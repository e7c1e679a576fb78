"""Storage: the schema, its migrations and transaction boundaries (SQLite or PostgreSQL)."""

from egide.store.database import Database
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
    "intern_label",
    "utcnow",
]
