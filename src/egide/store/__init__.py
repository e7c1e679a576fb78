"""Storage: the schema, its migrations and transaction boundaries (SQLite or PostgreSQL)."""

from egide.store.database import Database
from egide.store.labels import all_labels, intern_label
from egide.store.models import (
    ApiKeyRecord,
    AuditCheckpointRecord,
    AuditEntryRecord,
    Base,
    FlagRecord,
    LabelRecord,
    OrganisationRecord,
    PrincipalRecord,
    utcnow,
)

__all__ = [
    "ApiKeyRecord",
    "AuditCheckpointRecord",
    "AuditEntryRecord",
    "Base",
    "Database",
    "FlagRecord",
    "LabelRecord",
    "OrganisationRecord",
    "PrincipalRecord",
    "all_labels",
    "intern_label",
    "utcnow",
]
