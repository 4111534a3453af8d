"""Shop webhooks refuse what is not a signed order, before parsing and with nothing written."""

import json

import pytest
from django.test import Client

from oms.models import Order, ShopWebhook
from tests.factories import ProductFactory
from tests.oms.shop.test_webhooks import CREATE_URL, SECRET, shop_order, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.SHOPIFY_WEBHOOK_SECRET = SECRET


@pytest.fixture
def products():
    for sku in {line["sku"] for line in shop_order()["line_items"]}:
        ProductFactory(sku=sku)


def nothing_written():
    return not Order.objects.exists() and not ShopWebhook.objects.exists()


def send(body: bytes, *, content_type="application/json", **headers):
    headers.setdefault("X-Shopify-Hmac-Sha256", sign(body))
    return Client().post(CREATE_URL, data=body, content_type=content_type, headers=headers)


def test_a_body_over_the_limit_is_refused_before_it_is_read(settings, products):
    settings.WEBHOOK_MAX_BYTES = 1000
    body = json.dumps(shop_order() | {"note": "x" * 2000}).encode()
    response = send(body)
    assert response.status_code == 413 and "1000 bytes" in response.json()["error"]
    assert nothing_written()


def test_a_body_that_is_not_json_by_its_type_is_refused(products):
    body = json.dumps(shop_order()).encode()
    response = send(body, content_type="text/plain")
    assert response.status_code == 415
    assert nothing_written()


def test_a_topic_header_for_another_topic_is_refused(products):
    body = json.dumps(shop_order()).encode()
    response = send(body, **{"X-Shopify-Topic": "products/create"})
    assert response.status_code == 400 and "not handled here" in response.json()["error"]
    assert nothing_written()


def test_the_right_topic_header_is_accepted(products):
    body = json.dumps(shop_order()).encode()
    assert send(body, **{"X-Shopify-Topic": "orders/create"}).status_code == 200


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"an order"', b"null", b"{not json"])
def test_json_that_is_not_an_order_object_is_refused(body):
    response = send(body)
    assert response.status_code == 400
    assert nothing_written()


def test_a_missing_signature_is_refused(products):
    body = json.dumps(shop_order()).encode()
    response = Client().post(CREATE_URL, data=body, content_type="application/json")
    assert response.status_code == 401
    assert nothing_written()


def test_a_replayed_delivery_changes_nothing(products):
    body = json.dumps(shop_order()).encode()
    first = send(body, **{"X-Shopify-Webhook-Id": "delivery-1"})
    again = send(body, **{"X-Shopify-Webhook-Id": "delivery-1"})
    assert first.status_code == 200 and again.status_code == 200
    assert Order.objects.count() == 1 and ShopWebhook.objects.count() == 1


def test_any_request_declaring_a_body_over_the_server_limit_is_refused(client, settings):
    response = client.post("/accounts/login/", data=b"x", content_type="application/octet-stream",
                           CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1))
    assert response.status_code == 413
