"""The append-only event log: the closed list of event types, ingest and timelines."""
