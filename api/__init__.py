"""The HTTP and GraphQL surface: app factory, auth, types, thin resolvers."""
