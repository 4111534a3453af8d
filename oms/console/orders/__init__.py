"""Console area (see oms/console/__init__.py)."""
