"""Test helpers that are not tests: servers, mail builders, seeders, fixtures plugins."""
