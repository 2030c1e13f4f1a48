"""The subscriber data lifecycle: retention, import, export, log redaction."""
