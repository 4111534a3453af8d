"""Render every customer email with demo data into a folder (.html, .txt and .eml per email) for review."""

import base64
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from oms.outbox.email import email_build, email_kinds
from oms.outbox.samples import email_samplers


class _Rollback(Exception):
    pass


def _inline_images(html: str, mail) -> str:
    """The review copy of the HTML shows its images in any browser: cid: references become data: URIs
    (the .eml keeps the real multipart/related email)."""
    for part in mail.attachments:
        content_id = part.get("Content-ID", "") if hasattr(part, "get") else ""
        if content_id:
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            html = html.replace(f"cid:{content_id.strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return html


class Command(BaseCommand):
    help = "Render every customer email kind with demo data to DIR: <kind>.html, <kind>.txt and <kind>.eml."

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR")

    def handle(self, *args, directory: str, **options):
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        samplers = email_samplers()
        now = timezone.now()
        written = []
        try:
            with transaction.atomic():  # samplers may create rows: none of them stays
                for kind, sampler in sorted(samplers.items()):
                    try:
                        message = sampler(now)
                    except LookupError as exc:
                        raise CommandError(f"{kind}: {exc} (run `manage.py seed_demo` first)") from exc
                    mail = email_build(message)
                    html = next((body for body, mime in mail.alternatives if mime == "text/html"), None)
                    (folder / f"{kind}.txt").write_text(mail.body)
                    if html is not None:
                        (folder / f"{kind}.html").write_text(_inline_images(html, mail))
                    (folder / f"{kind}.eml").write_bytes(mail.message().as_bytes())
                    written.append(kind)
                raise _Rollback
        except _Rollback:
            pass
        for kind in written:
            self.stdout.write(f"{kind:<24} {folder / kind}.{{html,txt,eml}}")
        missing = sorted(set(email_kinds()) - set(samplers))
        if missing:
            self.stderr.write(self.style.WARNING(f"no sample for: {', '.join(missing)}"))
        self.stdout.write(self.style.SUCCESS(f"{len(written)} emails rendered into {folder}"))
