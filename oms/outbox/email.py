"""Customer emails from the outbox: the registry of email kinds, how a message becomes an email, the EMAIL adapter.

Each email kind (an outbox message's `kind`, e.g. "pickup-ready") has a builder, registered with
`@email_kind("pickup-ready")` in an `emails.py` module (found like admin.py is: every installed app's `emails`
module, and in Storefill's own apps every `emails` module of a sub-package too, e.g. `oms.pickup.emails`, is
imported before the first email is built; settings.OUTBOX_EMAIL_MODULES names more).
The builder reads the payload and the database and returns an `Email`: recipients, subject, template context
and inline images. The bodies are the templates `emails/<kind>.txt` and, when it exists, `emails/<kind>.html`
(both extend the `emails/base.*` layout).
"""

from __future__ import annotations

import hashlib
import pkgutil
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.mime.image import MIMEImage
from email.utils import parseaddr
from importlib import import_module
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.module_loading import autodiscover_modules

from oms.models import OutboxMessage
from oms.outbox.adapters import PermanentDeliveryError, TemporaryDeliveryError


@dataclass(frozen=True)
class InlineImage:
    """An image shown inside the HTML body, which refers to it as `<img src="cid:{cid}">` (multipart/related)."""

    cid: str
    content: bytes
    subtype: str = "png"


@dataclass
class Email:
    """What a kind's builder returns. The templates default to `emails/<kind>.txt` and `emails/<kind>.html`
    (the HTML one may be missing: the email is then text only); a name or a compiled template may be given."""

    to: list[str]
    subject: str
    context: dict[str, Any] = field(default_factory=dict)
    images: list[InlineImage] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    text_template: Any = None
    html_template: Any = None


EmailBuilder = Callable[[OutboxMessage], Email]

_KINDS: dict[str, EmailBuilder] = {}
_discovered = False


def email_kind(kind: str) -> Callable[[EmailBuilder], EmailBuilder]:
    """Register the decorated function as the builder of the emails of outbox messages of this `kind`."""

    def register(builder: EmailBuilder) -> EmailBuilder:
        known = _KINDS.get(kind)
        if known is not None and _name(known) != _name(builder):
            raise ImproperlyConfigured(f"email kind {kind!r} is built by {_name(known)} already")
        _KINDS[kind] = builder
        return builder

    return register


def _name(builder: EmailBuilder) -> str:
    return f"{builder.__module__}.{builder.__qualname__}"


def _emails_modules(package) -> list[str]:
    if not hasattr(package, "__path__"):
        return []
    found = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        if info.name.rsplit(".", 1)[-1] == "emails":
            found.append(info.name)
    return found


def email_kinds() -> dict[str, EmailBuilder]:
    """Every registered kind with its builder (imports the apps' `emails` modules the first time)."""
    global _discovered
    if not _discovered:
        autodiscover_modules("emails")
        for app in apps.get_app_configs():  # and in the project's own apps, every `emails` module at any depth
            if Path(app.path).is_relative_to(settings.BASE_DIR):
                for module in _emails_modules(app.module):
                    import_module(module)
        for module in settings.OUTBOX_EMAIL_MODULES:
            import_module(module)
        _discovered = True
    return dict(_KINDS)


def message_id_for(idempotency_key: str) -> str:
    """The email's Message-ID: the same for every send of one outbox message, so a receiver can drop a copy.

    `<` + the first 32 hex digits of sha256(idempotency key) + `.storefill@` + the domain of
    DEFAULT_FROM_EMAIL + `>`.
    """
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "storefill.invalid"
    return f"<{digest}.storefill@{domain}>"


def email_build(message: OutboxMessage) -> EmailMultiAlternatives:
    """The email an outbox message of an email kind stands for, ready to send (also used to preview emails).

    Raises PermanentDeliveryError when it cannot be built: no builder for the kind, a row the builder
    needs is gone, no recipient, no text template.
    """
    builder = email_kinds().get(message.kind)
    if builder is None:
        raise PermanentDeliveryError(f"no email kind {message.kind!r} is registered")
    try:
        email = builder(message)
    except ObjectDoesNotExist as exc:
        raise PermanentDeliveryError(f"{message.kind}: {exc}") from exc
    if not email.to:
        raise PermanentDeliveryError(f"{message.kind}: the email has no recipient")
    subject = " ".join(email.subject.split())  # a header never holds a line break
    context = {"subject": subject, **email.context}
    try:
        text = _render(email.text_template or f"emails/{message.kind}.txt", context)
        try:
            html = _render(email.html_template or f"emails/{message.kind}.html", context)
        except TemplateDoesNotExist:
            if email.html_template:  # named by the builder: it must exist
                raise
            html = None
    except TemplateDoesNotExist as exc:
        raise PermanentDeliveryError(f"{message.kind}: no template {exc}") from exc
    mail = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=email.to, reply_to=email.reply_to,
        headers={"Message-ID": message_id_for(message.idempotency_key), "Auto-Submitted": "auto-generated"},
    )
    if html is not None:
        mail.attach_alternative(html, "text/html")
    if email.images:
        # multipart/related around the text/HTML alternatives: the images belong to the HTML, not attachments.
        mail.mixed_subtype = "related"
        for image in email.images:
            part = MIMEImage(image.content, _subtype=image.subtype)
            part.add_header("Content-ID", f"<{image.cid}>")
            part.add_header("Content-Disposition", "inline", filename=f"{image.cid}.{image.subtype}")
            mail.attach(part)
    return mail


def _render(template, context: dict) -> str:
    if isinstance(template, str):
        template = get_template(template)
    return template.render(context)


class EmailAdapter:
    """The EMAIL destination: builds the message's email and sends it through Django's email backend.

    The backend is settings.OUTBOX_EMAIL_BACKEND, else EMAIL_BACKEND; every SMTP call gives up after
    OUTBOX_SEND_TIMEOUT seconds. A 5xx answer to the recipients or the message is permanent; a refused
    connection, a timeout or a 4xx answer is temporary.
    """

    def deliver(self, message: OutboxMessage) -> None:
        mail = email_build(message)
        mail.connection = get_connection(
            backend=settings.OUTBOX_EMAIL_BACKEND or None, fail_silently=False, timeout=settings.OUTBOX_SEND_TIMEOUT,
        )
        try:
            mail.send()
        except BadHeaderError as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(f"{rcpt}: {code} {text!r}" for rcpt, (code, text) in exc.recipients.items())
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentDeliveryError(f"recipients refused: {answers}") from exc
            raise TemporaryDeliveryError(f"recipients refused: {answers}") from exc
        except smtplib.SMTPDataError as exc:
            error = PermanentDeliveryError if exc.smtp_code >= 500 else TemporaryDeliveryError
            raise error(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc
