"""The EMAIL destination in-process: a registered kind becomes a text + HTML email with inline images and a
stable Message-ID; SMTP answers decide between retrying and FAILED."""

import base64
import email
import re
import socket

import pytest
from django.core import mail
from django.db import transaction
from django.template import engines
from django.utils import timezone

from oms.models import Order, OutboxMessage
from oms.outbox.dispatch import outbox_dispatch
from oms.outbox.email import Email, InlineImage, email_build, email_kind, message_id_for
from oms.outbox.messages import outbox_write
from tests.factories import OrderFactory

KIND = "outbox-email-test"  # test-only: real kinds (pickup-ready, …) live in their app's emails.py
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
TEXT = engines["django"].from_string(
    '{% extends "emails/base.txt" %}{% block content %}Hello {{ order.customer_name }} & co, '
    "order {{ order.name }} is ready.{% endblock %}"
)
HTML = engines["django"].from_string(
    '{% extends "emails/base.html" %}{% block content %}<p>Hello {{ order.customer_name }} &amp; co</p>'
    '<img src="cid:pickup-code" alt="code">{% endblock %}'
)


@email_kind(KIND)
def outbox_email_test(message: OutboxMessage) -> Email:
    order = Order.objects.get(pk=message.payload["order"])
    return Email(
        to=[order.email], subject=f"Your order {order.name}\nis ready", context={"order": order},
        images=[InlineImage(cid="pickup-code", content=PIXEL)], text_template=TEXT, html_template=HTML,
    )


@email_kind("outbox-email-test-without-templates")
def without_templates(message: OutboxMessage) -> Email:
    return Email(to=["ada@example.com"], subject="no templates")


def email_message(*, kind=KIND, order=None, key=None) -> OutboxMessage:
    order = order or OrderFactory()
    with transaction.atomic():
        return outbox_write(kind=kind, destination=OutboxMessage.Destination.EMAIL, order=order,
                            idempotency_key=key or f"{kind}:{order.pk}", payload={"order": order.pk})


@pytest.mark.django_db
def test_email_kind_renders_text_and_html_with_the_image_inline():
    message = email_message()

    parsed = email.message_from_bytes(email_build(message).message().as_bytes())

    assert parsed.get_content_type() == "multipart/related"
    alternative, image = parsed.get_payload()
    text, html = alternative.get_payload()
    assert (alternative.get_content_type(), text.get_content_type(), html.get_content_type()) == (
        "multipart/alternative", "text/plain", "text/html")
    assert "Hello Ada Lovelace & co, order" in text.get_payload(decode=True).decode()
    assert 'src="cid:pickup-code"' in html.get_payload(decode=True).decode()
    assert (image.get_content_type(), image["Content-ID"], image.get_content_disposition()) == (
        "image/png", "<pickup-code>", "inline")
    assert image.get_payload(decode=True) == PIXEL
    assert parsed["Subject"] == f"Your order {message.order.name} is ready"
    assert parsed["To"] == "ada@example.com"


@pytest.mark.django_db
def test_message_id_is_the_same_for_every_send_of_one_message_and_differs_between_messages():
    first, other = email_message(), email_message()

    ids = [email_build(message).message()["Message-ID"] for message in (first, first, other)]

    assert ids[0] == ids[1] == message_id_for(first.idempotency_key) != ids[2]
    assert re.fullmatch(r"<[0-9a-f]{32}\.storefill@storefill\.example>", ids[0])


@pytest.mark.django_db
def test_dispatcher_sends_the_email_through_the_email_backend():
    message = email_message()

    outbox_dispatch()

    assert [sent.extra_headers["Message-ID"] for sent in mail.outbox] == [message_id_for(message.idempotency_key)]
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.DELIVERED


@pytest.mark.django_db
@pytest.mark.parametrize("kind, error", [
    ("no-such-email-kind", "permanent: no email kind 'no-such-email-kind' is registered"),
    ("outbox-email-test-without-templates", "permanent: outbox-email-test-without-templates: no template"),
])
def test_an_email_that_cannot_be_built_is_failed_at_once(kind, error):
    email_message(kind=kind)

    outbox_dispatch()

    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, 1)
    assert message.last_error.startswith(error)
    assert mail.outbox == []


@pytest.fixture
def smtp(settings, smtp_server):
    settings.OUTBOX_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()


@pytest.mark.django_db
@pytest.mark.parametrize("answer, status", [
    ("550 5.1.1 No such user", OutboxMessage.Status.FAILED),
    ("451 4.3.0 Try again later", OutboxMessage.Status.PENDING),
])
def test_an_smtp_refusal_of_the_recipient_is_failed_when_permanent_and_retried_when_temporary(smtp, answer, status):
    smtp.refuse["ada@example.com"] = answer
    email_message()

    outbox_dispatch()

    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, smtp.messages) == (status, 1, [])
    assert answer.split()[0] in message.last_error


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_is_retried(smtp, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]  # nothing listens there
    email_message()

    outbox_dispatch()

    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert message.due_at > timezone.now()
    assert "ConnectionRefusedError" in message.last_error


@pytest.mark.django_db
def test_the_smtp_server_receives_the_message_id_and_the_inline_image(smtp):
    message = email_message()

    outbox_dispatch()

    [received] = smtp.messages
    assert received["Message-ID"] == message_id_for(message.idempotency_key)
    assert [part["Content-ID"] for part in received.walk() if part.get_content_maintype() == "image"] == [
        "<pickup-code>"]
