"""The JSON API under /api/v1: bearer tokens, resources, and the OpenAPI document.

schemas.py holds every request and response schema once: the views validate bodies with
them and openapi.py publishes them, so the document cannot drift from what is enforced.
"""
