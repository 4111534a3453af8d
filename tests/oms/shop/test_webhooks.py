"""The Shopify order webhook endpoints: signature, parsing, idempotent delivery, concurrent deliveries."""

import base64
import hashlib
import hmac
import json
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from oms.models import Order, OrderLine, ShopWebhook
from tests.factories import ProductFactory

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shopify_order.json"
SECRET = "test-webhook-secret"
CREATE_URL = "/webhooks/shopify/orders/create"


def shop_order() -> dict:
    return json.loads(FIXTURE.read_text())


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(client: Client, url: str, body: bytes, *, signature: str | None = None, webhook_id: str | None = None):
    headers = {"X-Shopify-Hmac-Sha256": sign(body) if signature is None else signature}
    if webhook_id:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    return client.post(url, data=body, content_type="application/json", headers=headers)


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.SHOPIFY_WEBHOOK_SECRET = SECRET


@pytest.fixture
def catalog(db):
    return [ProductFactory(sku="SOCK-TRAIL-M"), ProductFactory(sku="BOTTLE-750-FOREST")]


def test_signed_create_stores_order_and_lines(client, catalog):
    response = post(client, CREATE_URL, json.dumps(shop_order()).encode(), webhook_id="wh-1")

    assert response.status_code == 200
    assert response.json() == {"outcome": "created", "order": "#1042", "problems": []}
    order = Order.objects.get()
    assert (order.channel, order.external_id, order.status) == ("shopify", "5849372917843", "CREATED")
    lines = list(order.lines.order_by("pk").values_list("external_line_id", "sku", "quantity", "product__sku"))
    assert lines == [
        ("14372092579923", "SOCK-TRAIL-M", 2, "SOCK-TRAIL-M"),
        ("14372092612691", "BOTTLE-750-FOREST", 1, "BOTTLE-750-FOREST"),
    ]
    assert ShopWebhook.objects.get().webhook_id == "wh-1"


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "wrong-secret"])
def test_bad_or_missing_signature_is_refused_with_401_and_stores_nothing(client, catalog, signature):
    body = json.dumps(shop_order()).encode()
    if signature == "wrong-secret":
        signature = sign(body, secret="someone-elses-secret")

    response = post(client, CREATE_URL, body, signature=signature, webhook_id="wh-1")

    assert response.status_code == 401
    assert "error" in response.json()
    assert not Order.objects.exists() and not ShopWebhook.objects.exists()


def test_signature_over_a_different_body_is_refused(client, catalog):
    body = json.dumps(shop_order()).encode()
    tampered = body.replace(b'"total_price": "112.80"', b'"total_price": "0.01"')
    assert tampered != body

    response = post(client, CREATE_URL, tampered, signature=sign(body))

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_body_that_is_not_json_is_refused_with_400(client, db):
    response = post(client, CREATE_URL, b'{"id": 1, "line_items": [')

    assert response.status_code == 400
    assert response.json()["error"]
    assert not ShopWebhook.objects.exists()


def test_order_without_id_is_refused_with_400_and_stores_nothing(client, catalog):
    payload = shop_order()
    del payload["id"]

    response = post(client, CREATE_URL, json.dumps(payload).encode(), webhook_id="wh-1")

    assert response.status_code == 400
    assert "id" in response.json()["error"]
    assert not Order.objects.exists() and not ShopWebhook.objects.exists()


def test_get_is_not_allowed(client, db):
    assert client.get(CREATE_URL).status_code == 405


def test_redelivery_with_the_same_webhook_id_answers_200_and_changes_nothing(client, catalog):
    body = json.dumps(shop_order()).encode()
    post(client, CREATE_URL, body, webhook_id="wh-1")
    before = Order.objects.values().get()

    response = post(client, CREATE_URL, body, webhook_id="wh-1")

    assert response.status_code == 200
    assert response.json()["outcome"] == "duplicate"
    assert Order.objects.values().get() == before
    assert OrderLine.objects.count() == 2 and ShopWebhook.objects.count() == 1


def test_redelivery_without_webhook_id_is_recognised_by_its_body(client, catalog):
    body = json.dumps(shop_order()).encode()

    first, again = post(client, CREATE_URL, body), post(client, CREATE_URL, body)

    assert (first.json()["outcome"], again.json()["outcome"]) == ("created", "duplicate")
    assert ShopWebhook.objects.count() == 1 and Order.objects.count() == 1


def test_same_order_under_a_new_webhook_id_is_a_duplicate(client, catalog):
    payload = shop_order()
    post(client, CREATE_URL, json.dumps(payload).encode(), webhook_id="wh-1")
    payload["email"] = "someone.else@example.com"

    response = post(client, CREATE_URL, json.dumps(payload).encode(), webhook_id="wh-2")

    assert response.status_code == 200
    assert response.json()["outcome"] == "duplicate"
    assert Order.objects.get().email == "ada.lovelace@example.com"
    assert OrderLine.objects.count() == 2


def test_cancelled_webhook_cancels_the_order(client, catalog):
    post(client, CREATE_URL, json.dumps(shop_order()).encode(), webhook_id="wh-1")
    cancel = shop_order() | {"cancel_reason": "customer", "cancelled_at": "2026-11-20T11:00:00-06:00"}

    response = post(client, "/webhooks/shopify/orders/cancelled", json.dumps(cancel).encode(), webhook_id="wh-2")

    assert response.json()["outcome"] == "canceled"
    assert Order.objects.get().status == "CANCELED"


@pytest.mark.parametrize("webhook_ids", [("wh-same", "wh-same"), ("wh-first", "wh-second")], ids=["same-id", "new-id"])
def test_concurrent_identical_create_deliveries_store_one_order(transactional_db, webhook_ids):
    """Shopify retries quickly: two deliveries of one order racing each other must store it once."""
    ProductFactory(sku="SOCK-TRAIL-M")
    ProductFactory(sku="BOTTLE-750-FOREST")
    body = json.dumps(shop_order()).encode()
    barrier = threading.Barrier(len(webhook_ids))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def deliver(webhook_id):
        try:
            barrier.wait(timeout=10)
            response = post(Client(), CREATE_URL, body, webhook_id=webhook_id)
            assert response.status_code == 200, response.content
            outcomes.append(response.json()["outcome"])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(webhook_id,)) for webhook_id in webhook_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert sorted(outcomes) == ["created", "duplicate"]
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
