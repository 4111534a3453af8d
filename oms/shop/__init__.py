"""The shop: order webhooks, importing the shop's orders, the safety-net pull, and the Shopify client and adapter."""
