"""FHIR R4: carepath in the language EHRs speak (export, import, read API)."""
