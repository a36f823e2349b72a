"""Fixtures for the Bedrock tests (filled in with the Bedrock discovery work)."""
