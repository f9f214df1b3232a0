"""Outreach and nurture by email: templates, sequences, broadcasts, the outbox, replies and bounces."""
