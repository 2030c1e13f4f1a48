"""Mailbox providers' feedback (Amazon SES through SNS, Postmark) as classifications."""
