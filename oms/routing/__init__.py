"""Routing (brokering): where each queued order line is fulfilled from."""
