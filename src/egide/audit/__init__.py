"""The audit journal: hash-chained, append-only, checkpointed with Ed25519, verifiable offline."""

from egide.audit.chain import FORMAT_VERSION, GENESIS_HASH, AuditEntry, Checkpoint
from egide.audit.export import export_journal
from egide.audit.journal import Journal
from egide.audit.signing import SigningKey, fingerprint, public_key_from_text, public_key_to_text
from egide.audit.verify import VerificationReport, verify_chain, verify_database, verify_file

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "AuditEntry",
    "Checkpoint",
    "Journal",
    "SigningKey",
    "VerificationReport",
    "export_journal",
    "fingerprint",
    "public_key_from_text",
    "public_key_to_text",
    "verify_chain",
    "verify_database",
    "verify_file",
]
