"""Building mail: tokens, links, Markdown, rendering, one message builder, DKIM, the outbox."""
