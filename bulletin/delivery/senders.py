"""The bulk senders moved to bulletin.delivery.engine (dispatcher, sender pool, recorder)."""

from bulletin.delivery.engine import SendEngine

__all__ = ["SendEngine"]
