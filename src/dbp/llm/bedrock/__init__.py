"""dbp.llm.bedrock namespace."""
