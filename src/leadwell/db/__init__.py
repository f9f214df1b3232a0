"""Database: typed models, engine/session set-up and the one migration history for SQLite and PostgreSQL."""
