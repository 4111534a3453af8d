"""Feeds: CSV files from the shop and the ERP (files.py: storing, re-deliveries, drops; one module per kind)."""
