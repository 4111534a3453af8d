"""Old path of the shop's sync-webhook adapter (`oms.outbox.shop_webhook.ShopWebhookAdapter`), for settings that
still name it."""

from oms.outbox.shop_webhook import ShopWebhookAdapter

__all__ = ["ShopWebhookAdapter"]
