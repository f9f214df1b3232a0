"""Users, memberships, passwords, sessions, CSRF and API tokens."""
