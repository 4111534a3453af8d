"""The outbox: message rows written with the change that causes them, the dispatcher, and the destination
adapters (customer email, the shop's sync webhook)."""
