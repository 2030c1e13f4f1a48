"""The worker door: the clock, the senders and the mail backends. Never imported by the web."""
