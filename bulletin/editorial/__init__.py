"""The editor door, under /editor: accounts, catalogue, issues, sends."""
