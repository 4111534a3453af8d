"""Storefill's project package and order-management app."""

from .celery import app as celery_app

__all__ = ("celery_app",)
