"""Intelligence synthesis: assessed reports to ICD 203 standards, proposed for a human decision."""

from egide.workflows.synthesis.lexicon import CONFIDENCE, LIKELIHOOD, Grading, parse_grading
from egide.workflows.synthesis.report import (
    ANALYSIS_SCHEMA,
    REPORT_SCHEMA,
    Problem,
    ReportInvalid,
    ensure_valid,
    validate_report,
)
from egide.workflows.synthesis.service import (
    WORKFLOW,
    ModelEngine,
    Synthesis,
    SynthesisRequest,
    SynthesisService,
)

__all__ = [
    "ANALYSIS_SCHEMA",
    "CONFIDENCE",
    "LIKELIHOOD",
    "REPORT_SCHEMA",
    "WORKFLOW",
    "Grading",
    "ModelEngine",
    "Problem",
    "ReportInvalid",
    "Synthesis",
    "SynthesisRequest",
    "SynthesisService",
    "ensure_valid",
    "parse_grading",
    "validate_report",
]
