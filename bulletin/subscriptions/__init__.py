"""The public door: subscribe, confirm, manage, unsubscribe."""
