"""Queues of lines waiting for routing: moving lines between queues, auto-cancel, releasing waiting lines."""
