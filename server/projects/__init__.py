"""Projects, membership and roles."""
