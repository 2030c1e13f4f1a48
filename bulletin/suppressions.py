"""The suppression list: moved to bulletin.core.suppressions (this name stays for old imports)."""

from bulletin.core.suppressions import is_suppressed, lift, suppress, suppress_hash

__all__ = ["is_suppressed", "lift", "suppress", "suppress_hash"]
