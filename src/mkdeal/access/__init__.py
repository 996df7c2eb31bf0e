"""Users, organisations, roles, sessions and the audit log (app database)."""
