"""dbp.llm namespace."""
