"""One blueprint module per area; each has ``bp`` and optionally ``NAV`` (see web.app)."""
