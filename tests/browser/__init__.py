"""Helpers for the browser suite: a live server, Chromium, axe-core, keyboard walking."""
