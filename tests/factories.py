"""Small factories for the domain models. Orders from the shop come through oms.shop.importer instead."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from oms.models import Order, OrderLine, Product
from stores.models import Facility, StoreMembership

WEEK_9_TO_6 = {day: ["09:00", "18:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": None}


def ean13(number: int) -> str:
    """A valid EAN-13 for a 12-digit number (adds the check digit)."""
    digits = f"{number:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@storefill.example")
    password = factory.django.Password("secret-pass-123")


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ST-{n:03d}")
    name = factory.LazyAttribute(lambda f: f"Store {f.code}")
    kind = Facility.Kind.STORE
    country = "US"
    city = "Chicago"
    latitude = 41.8781
    longitude = -87.6298
    time_zone = "America/Chicago"
    opening_hours = factory.LazyFunction(lambda: dict(WEEK_9_TO_6))
    offers_pickup = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreMembership

    user = factory.SubFactory(UserFactory)
    facility = factory.SubFactory(FacilityFactory)
    role = StoreMembership.Role.ASSOCIATE


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(lambda n: ean13(400000000000 + n))
    name = factory.Sequence(lambda n: f"Product {n}")
    weight_grams = 500


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: str(5000000 + n))
    name = factory.Sequence(lambda n: f"#T{1000 + n}")
    customer_name = "Ada Lovelace"
    email = "ada@example.com"
    payment_status = "paid"
    shipping_address = factory.LazyFunction(
        lambda: {"name": "Ada Lovelace", "address1": "1 Main St", "city": "Chicago", "zip": "60601",
                 "province_code": "IL", "country_code": "US", "latitude": 41.88, "longitude": -87.63}
    )
    ordered_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda line: line.product.sku if line.product else "UNKNOWN")
    external_line_id = factory.Sequence(lambda n: str(9000000 + n))
    quantity = 1
