"""People and organizations: validation, storage, search."""
