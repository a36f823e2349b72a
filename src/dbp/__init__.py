"""dbp namespace."""
