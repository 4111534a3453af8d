"""Old path of the customer-email adapter (`oms.outbox.email.EmailAdapter`), for settings that still name it."""

from oms.outbox.email import EmailAdapter

__all__ = ["EmailAdapter"]
