"""Pickup alternatives: the customer's page and choice, and its email."""
