"""Old import paths of the outbox's adapters, kept because deployments name them in settings
(`OUTBOX_ADAPTERS`, `SHOP_SYNC_ADAPTER`). The adapters live in `oms.outbox` and `oms.shop`; nothing in Storefill
imports from here."""
