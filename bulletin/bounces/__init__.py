"""Classify bounce, complaint and auto-reply messages (pure Python, stdlib only)."""
