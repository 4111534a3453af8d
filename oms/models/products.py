"""Products: what the shop sells, with the barcode a scanner reads."""

from django.db import models


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=32, unique=True, help_text="EAN-13 / UPC printed on the item.")
    name = models.CharField(max_length=200)
    weight_grams = models.PositiveIntegerField(default=0)
    image_url = models.URLField(blank=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
