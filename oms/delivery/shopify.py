"""Old path of the Shopify adapter (`oms.shop.shopify.ShopifyAdapter`), for settings that still name it."""

from oms.shop.shopify import ShopifyAdapter

__all__ = ["ShopifyAdapter"]
