"""Destination adapters: how an outbox message reaches its destination (email now; the shop and the ERP later)."""
