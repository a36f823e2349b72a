"""The Bedrock layer: clients, model and profile discovery, latency, errors.

Modules here import boto3 on first use only; import them directly
(``from dbp.llm.bedrock.discovery.bedrock.models import BedrockModelDiscovery``)
or through the lazy names of :mod:`dbp.llm.bedrock.discovery`.
"""
