"""JSON mirror of the public flow for partner apps and journalists' tools."""
