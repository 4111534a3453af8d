"""render_sample_emails DIR: every customer email with demo data, as .html (images inline), .txt and .eml."""

import email

import pytest
from django.core.management import call_command

from oms.models import OutboxMessage
from tests.factories import ProductFactory
from tests.fulfillment.store_world import routed_order, stock, store_with_people

pytestmark = pytest.mark.django_db

CUSTOMER_KINDS = {"pickup-ready", "pickup-reminder", "pickup-expired"}


def test_every_customer_email_is_rendered_with_real_data_and_nothing_is_written(tmp_path):
    facility, _, _ = store_with_people(address1="233 S Wacker Dr", postal_code="60606")
    lamp = ProductFactory(name="Brass lamp")
    stock(facility, lamp, 2)
    order, _ = routed_order(facility, [(lamp, 1)], pickup=True)
    messages_before = OutboxMessage.objects.count()

    call_command("render_sample_emails", str(tmp_path))

    for kind in CUSTOMER_KINDS:
        text = (tmp_path / f"{kind}.txt").read_text()
        html = (tmp_path / f"{kind}.html").read_text()
        assert order.name in text and "Brass lamp" in text and facility.name in text
        assert order.name in html and "Brass lamp" in html and "cid:" not in html
        parsed = email.message_from_bytes((tmp_path / f"{kind}.eml").read_bytes())
        assert parsed["To"] == order.email and parsed["Message-ID"]
    assert "data:image/png;base64," in (tmp_path / "pickup-ready.html").read_text()
    parsed = email.message_from_bytes((tmp_path / "pickup-ready.eml").read_bytes())
    assert [part["Content-ID"] for part in parsed.walk() if part.get_content_maintype() == "image"] == [
        "<pickup-code-qr>"]
    assert OutboxMessage.objects.count() == messages_before


def test_without_demo_data_it_says_to_seed_first(tmp_path):
    with pytest.raises(Exception, match="seed_demo"):
        call_command("render_sample_emails", str(tmp_path))
