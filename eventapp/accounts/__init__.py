"""People and access: users, organisations, per-event roles, sessions, tokens and invitations."""
