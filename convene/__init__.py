"""Convene's public gRPC API, generated from proto/ (``python -m server.protogen``)."""
