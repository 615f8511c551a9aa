"""Privacy: redaction of free text, keyed pseudonyms, field encryption, audit hash chain, fairness report.

Store-independent: the operational store calls these functions; nothing here touches a database.
"""

from __future__ import annotations

from careleads.privacy._audit_chain import (
    AUDIT_FIELDS,
    GENESIS_HASH,
    VerifyResult,
    canonical_json,
    chain_hash,
    seal_entry,
    verify_chain,
)
from careleads.privacy._corpus import (
    MEASURED_KINDS,
    STRUCTURED_KINDS,
    LabelledText,
    make_pii_corpus,
    measure_redaction,
)
from careleads.privacy._crypto import ENCRYPTION_KEY_ENV, FieldCipher, generate_key
from careleads.privacy._fairness import (
    DEFAULT_AGE_EDGES,
    AttributeReport,
    FairnessReport,
    FairnessThresholds,
    GroupStats,
    band_numeric,
    fairness_report,
)
from careleads.privacy._pseudonym import (
    PSEUDONYM_KEY_ENV,
    Pseudonymiser,
    generate_pseudonym_key,
    load_key,
    normalise_identifier,
    pseudonymise,
)
from careleads.privacy._redact import (
    PLACEHOLDERS,
    RedactionResult,
    RedactionSpan,
    redact_text,
    redact_texts,
    remembered_redactions,
)

__all__ = [
    "AUDIT_FIELDS",
    "DEFAULT_AGE_EDGES",
    "ENCRYPTION_KEY_ENV",
    "GENESIS_HASH",
    "MEASURED_KINDS",
    "PLACEHOLDERS",
    "PSEUDONYM_KEY_ENV",
    "STRUCTURED_KINDS",
    "AttributeReport",
    "FairnessReport",
    "FairnessThresholds",
    "FieldCipher",
    "GroupStats",
    "LabelledText",
    "Pseudonymiser",
    "RedactionResult",
    "RedactionSpan",
    "VerifyResult",
    "band_numeric",
    "canonical_json",
    "chain_hash",
    "fairness_report",
    "generate_key",
    "generate_pseudonym_key",
    "load_key",
    "make_pii_corpus",
    "measure_redaction",
    "normalise_identifier",
    "pseudonymise",
    "redact_text",
    "redact_texts",
    "remembered_redactions",
    "seal_entry",
    "verify_chain",
]
