"""The core: verbs by noun that every door calls. Imports models and mail, never a door."""
