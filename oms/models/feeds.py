"""Feed files: imports received (with their problem rows) and exports written for the ERP/WMS."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class FeedFile(models.Model):
    """One CSV file received from the shop or the ERP: its stored copy, how far its import got, and its report.

    Recognised by content hash per kind, so a re-delivered file is never applied twice (oms.feeds).
    """

    class Kind(models.TextChoices):
        INVENTORY = "INVENTORY", "Inventory counts"
        ACKNOWLEDGEMENTS = "ACKNOWLEDGEMENTS", "WMS acknowledgements"
        FULFILLED = "FULFILLED", "WMS fulfillments"
        REJECTED = "REJECTED", "WMS rejections"

    class Source(models.TextChoices):
        UPLOAD = "UPLOAD", "Uploaded"
        DROP = "DROP", "Dropped in the inbox folder"
        COMMAND = "COMMAND", "Command line"

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", "Received"
        IMPORTING = "IMPORTING", "Importing"
        DONE = "DONE", "Done"
        REFUSED = "REFUSED", "Refused (the file could not be read; nothing changed)"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=255, help_text="The file's name as delivered.")
    source = models.CharField(max_length=8, choices=Source.choices)
    sha256 = models.CharField(max_length=64, help_text="Content hash: the same content is imported once per kind.")
    stored_path = models.CharField(max_length=500, help_text="The stored copy, relative to FEEDS_DIR.")
    size = models.BigIntegerField(default=0)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    received_at = models.DateTimeField(db_index=True)
    times_received = models.PositiveIntegerField(default=1, help_text="Deliveries of this content (re-deliveries "
                                                                      "change nothing).")
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True, help_text="Why the whole file was refused.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_applied = models.PositiveIntegerField(default=0, help_text="Rows that changed stock.")
    rows_unchanged = models.PositiveIntegerField(default=0, help_text="Valid rows that matched the stock already.")
    rows_stale = models.PositiveIntegerField(default=0, help_text="Counts not newer than the newest count applied.")
    rows_rejected = models.PositiveIntegerField(default=0)
    # Progress: every line up to here is applied and reported, committed with the chunk that did it, so an import
    # that stopped (crash, lost worker) resumes after it. The claim says which import run owns the file now.
    lines_done = models.PositiveIntegerField(default=0)
    claim = models.UUIDField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "sha256"], name="feed_file_once_per_content")]

    def __str__(self) -> str:
        return f"feed #{self.pk} {self.get_kind_display()} {self.name}"


class FeedProblem(models.Model):
    """A row of a feed file that was rejected, with its line number and why."""

    feed = models.ForeignKey(FeedFile, on_delete=models.CASCADE, related_name="problems")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    raw = models.CharField(max_length=300, blank=True, help_text="The row as read (truncated).")

    class Meta:
        ordering = ["feed", "line", "pk"]
        indexes = [models.Index(fields=["feed", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class FeedExport(models.Model):
    """One CSV file written for the ERP/WMS (oms/feeds/exports.py): its messages are the outbox rows linked to it.

    Committed before its file is written; `written_at` is set once the file is complete under its final name, so
    an export without it is a file still to (re)write from its messages (docs/erp-feeds.md).
    """

    class Kind(models.TextChoices):
        ORDERS = "orders", "Orders"
        ALLOCATIONS = "allocations", "Allocations"
        FULFILLED = "fulfilled", "Fulfilled by stores"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    file_name = models.CharField(max_length=255, help_text="Under FEEDS_DIR/outbox/<kind>/.")
    rows = models.PositiveIntegerField(default=0, help_text="CSV rows after the header.")
    created_at = models.DateTimeField(db_index=True)
    written_at = models.DateTimeField(null=True, blank=True, help_text="When the file was complete under its name.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["written_at"], condition=Q(written_at__isnull=True),
                                name="feed_export_unwritten")]

    def __str__(self) -> str:
        return f"export #{self.pk} {self.file_name} ({self.rows} rows)"
