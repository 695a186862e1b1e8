"""GraphQL types, one module per concept."""
