"""Feed files of every kind: storing a delivery, recognising re-deliveries, claiming drops, chunked CSV reading.

A delivery is copied in chunks under FEEDS_DIR/archive/<kind>/<yyyy-mm-dd>/<sha256>-<name>, hashed and checked
for UTF-8 text on the way, and recorded as a FeedFile unique per (kind, content hash). An import claims its
FeedFile (a token in the row), then applies the file chunk by chunk: each chunk is one transaction that locks
the FeedFile row, checks the claim, applies its rows and moves `lines_done`, so a crash leaves whole chunks
done and the next import of the same content resumes after them. The kind-specific part (what a row means)
lives in its own module, e.g. oms.feeds.inventory.
"""

import codecs
import csv
import hashlib
import io
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from oms.db import rows_insert
from oms.models import FeedFile, FeedProblem

logger = logging.getLogger(__name__)

COPY_BLOCK = 1 << 16
# An import whose claim has shown no progress for this long is taken as dead: the next import of the same
# content takes over and resumes after its last committed chunk.
IMPORT_STALE = timedelta(minutes=10)
# A dropped file claimed this long ago and still in .processing/ (its worker died) is claimed again.
DROP_STALE = timedelta(minutes=15)
RAW_LIMIT = 300
PROBLEM_LIMIT = 200


class FeedRefused(Exception):
    """The file as a whole cannot be read (empty, not UTF-8 text, not CSV, wrong header): nothing is applied."""


class ClaimLost(Exception):
    """Another import took this file over (ours was taken as dead): stop without writing."""


@dataclass(frozen=True)
class FeedImport:
    """What one delivery came to: the FeedFile (its report) and whether this delivery was a re-delivery."""

    feed: FeedFile
    duplicate: bool = False

    def summary(self) -> str:
        feed = self.feed
        if self.duplicate:
            return f"duplicate of feed #{feed.pk}"
        if feed.status == FeedFile.Status.REFUSED:
            return f"refused: {feed.error}"
        return (f"applied {feed.rows_applied}, unchanged {feed.rows_unchanged}, stale {feed.rows_stale}, "
                f"rejected {feed.rows_rejected}")


# --- storing a delivery ----------------------------------------------------------------------------

def kind_folder(kind: str) -> str:
    return kind.lower()


def safe_name(name: str) -> str:
    """The delivered name without folders or characters a file system or a shell would trip on."""
    base = Path(str(name).replace("\\", "/")).name.strip() or "feed.csv"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:120]


@dataclass(frozen=True)
class StoredFile:
    path: Path  # absolute
    sha256: str
    size: int
    text_error: str  # "" when the content is UTF-8 text


def feed_file_store(file, *, kind: str, name: str, now: datetime) -> StoredFile:
    """Copy a readable binary file object under the archive in blocks, hashing and checking its text on the way.

    Memory stays at one block whatever the file's size. The copy is written under a temporary name and
    renamed into place, so a half-written copy is never mistaken for a stored file.
    """
    folder = Path(settings.FEEDS_DIR) / "archive" / kind_folder(kind)
    incoming = folder / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size, text_error = 0, ""
    temp = incoming / f"{uuid.uuid4().hex}.part"
    try:
        with open(temp, "wb") as out:
            while block := file.read(COPY_BLOCK):
                if isinstance(block, str):  # a text-mode upload: store it as UTF-8
                    block = block.encode("utf-8")
                digest.update(block)
                out.write(block)
                if not text_error:
                    text_error = _text_problem(decoder, block, size)
                size += len(block)
        if not text_error:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                text_error = "the file is not UTF-8 text (it ends in the middle of a character)"
        sha256 = digest.hexdigest()
        target = folder / now.strftime("%Y-%m-%d") / f"{sha256}-{safe_name(name)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)  # same content under the same name: replacing it changes nothing
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return StoredFile(path=target, sha256=sha256, size=size, text_error=text_error)


def _text_problem(decoder, block: bytes, offset: int) -> str:
    if b"\x00" in block:
        return "the file is binary, not CSV text (it contains NUL bytes)"
    try:
        decoder.decode(block)
    except UnicodeDecodeError as exc:
        return f"the file is not UTF-8 text (invalid byte at offset {offset + exc.start}); save it as UTF-8 CSV"
    return ""


def feed_file_receive(
    file, *, kind: str, name: str, source: str, actor=None, now: datetime,
) -> tuple[FeedFile, bool]:
    """Store a delivery and record it; return (its FeedFile, whether it is new).

    Content already received for this kind returns the existing FeedFile (its count of deliveries goes up)
    and the new copy is dropped: a re-delivered file creates nothing else. A file that is not UTF-8 text is
    recorded REFUSED at once.
    """
    stored = feed_file_store(file, kind=kind, name=name, now=now)
    relative = str(stored.path.relative_to(Path(settings.FEEDS_DIR)))
    fields = {
        "name": str(name)[:255], "source": source, "stored_path": relative, "size": stored.size,
        "actor": actor, "received_at": now,
    }
    if stored.text_error:
        fields.update(status=FeedFile.Status.REFUSED, error=stored.text_error, finished_at=now)
    try:
        with transaction.atomic():
            return FeedFile.objects.create(kind=kind, sha256=stored.sha256, **fields), True
    except IntegrityError:
        pass
    existing = FeedFile.objects.get(kind=kind, sha256=stored.sha256)
    FeedFile.objects.filter(pk=existing.pk).update(times_received=F("times_received") + 1)
    if existing.stored_path != relative:
        stored.path.unlink(missing_ok=True)
    return existing, False


# --- claiming and running an import ----------------------------------------------------------------

def feed_file_claim(*, feed_id: int, now: datetime) -> uuid.UUID | None:
    """Take the import of a feed file: a new one, or one whose import stopped showing progress. None if taken.

    One conditional UPDATE, so of two imports of the same content at once exactly one gets the claim.
    """
    claim = uuid.uuid4()
    taken = FeedFile.objects.filter(
        Q(status=FeedFile.Status.RECEIVED)
        | Q(status=FeedFile.Status.IMPORTING, heartbeat_at__lt=now - IMPORT_STALE),
        pk=feed_id,
    ).update(status=FeedFile.Status.IMPORTING, claim=claim, heartbeat_at=now)
    return claim if taken else None


def feed_file_lock(*, feed_id: int, claim: uuid.UUID) -> FeedFile:
    """In a chunk's transaction: lock the feed row and check the claim is still ours (raises ClaimLost)."""
    feed = FeedFile.objects.select_for_update().get(pk=feed_id)
    if feed.claim != claim or feed.status != FeedFile.Status.IMPORTING:
        raise ClaimLost(f"feed #{feed_id} was taken over by another import")
    return feed


def feed_chunk_record(
    feed: FeedFile, *, lines_done: int, problems: list[tuple[int, str, str]], now: datetime, **counts: int,
) -> None:
    """In the chunk's transaction, after its rows: store its rejected rows and move the report and progress on.

    `problems` are (line, reason, raw row); `counts` add to the rows_* counters (e.g. rows_applied=3).
    """
    rows_insert(
        model=FeedProblem, columns=["feed_id", "line", "reason", "raw"],
        rows=[(feed.pk, line, reason[:PROBLEM_LIMIT], raw[:RAW_LIMIT]) for line, reason, raw in problems],
    )
    FeedFile.objects.filter(pk=feed.pk).update(
        lines_done=lines_done, heartbeat_at=now,
        rows_rejected=F("rows_rejected") + len(problems),
        **{name: F(name) + value for name, value in counts.items()},
    )


def feed_file_finish(*, feed_id: int, claim: uuid.UUID, now: datetime, refused: str = "") -> FeedFile:
    """Close the import: DONE, or REFUSED with the reason (only before any row was applied)."""
    with transaction.atomic():
        feed = feed_file_lock(feed_id=feed_id, claim=claim)
        feed.status = FeedFile.Status.REFUSED if refused else FeedFile.Status.DONE
        feed.error = refused
        feed.finished_at = now
        feed.claim = None
        feed.save(update_fields=["status", "error", "finished_at", "claim"])
    return feed


def feed_file_path(feed: FeedFile) -> Path:
    return Path(settings.FEEDS_DIR) / feed.stored_path


# --- reading CSV --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvRow:
    line: int  # the file's line the row starts on (the header is line 1)
    fields: list[str]

    def raw(self) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(self.fields)
        return out.getvalue()[:RAW_LIMIT]


def csv_header(path: Path, *, required: list[str], optional: list[str] = ()) -> list[str]:
    """Read and check the header: names compared without case and surrounding spaces, in any order.

    Returns the header's names normalised (lower case, stripped). Raises FeedRefused naming what is
    expected when the file is empty, the header misses a column, repeats one or has one not expected.
    """
    expected = ", ".join(required) + (f" (optional: {', '.join(optional)})" if optional else "")
    with _open_text(path) as text:
        reader = csv.reader(text, strict=True)
        try:
            header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        except csv.Error as exc:
            raise FeedRefused(f"the file is not CSV ({exc})") from exc
    if header is None:
        raise FeedRefused(f"the file is empty; expected a header line with {expected}")
    names = [cell.strip().lower() for cell in header]
    shown = ",".join(cell.strip() for cell in header)[:100]
    missing = [name for name in required if name not in names]
    unknown = [name for name in names if name not in required and name not in optional]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unexpected {', '.join(repr(name) for name in unknown)}")
        if repeated:
            problems.append(f"repeated {', '.join(repeated)}")
        hint = " (columns must be separated by commas)" if len(names) == 1 and any(s in shown for s in ";\t|") else ""
        raise FeedRefused(f"wrong header {shown!r}: {'; '.join(problems)}; expected {expected}{hint}")
    return names


def csv_rows(path: Path, *, after_line: int = 0) -> Iterator[CsvRow]:
    """The data rows after the header (blank lines skipped), streaming: one row in memory at a time.

    Rows starting on or before `after_line` are skipped (an import resuming after its last chunk).
    Raises csv.Error on a malformed file; csv_count finds that before anything is applied.
    """
    with _open_text(path) as text:
        reader = csv.reader(text, strict=True)
        header_seen = False
        start = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise csv.Error(f"line {start}: {exc}") from exc
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in fields):
                continue
            if not header_seen:
                header_seen = True
                continue
            if line > after_line:
                yield CsvRow(line=line, fields=fields)


def csv_count(path: Path) -> int:
    """Read the whole file once without applying anything: the number of data rows (FeedRefused if not CSV)."""
    total = 0
    try:
        for _ in csv_rows(path):
            total += 1
    except csv.Error as exc:
        raise FeedRefused(f"the file is not CSV ({exc})") from exc
    return total


def _open_text(path: Path):
    # utf-8-sig: spreadsheets put a byte-order mark in front of the header.
    return open(path, encoding="utf-8-sig", newline="")


def chunks(rows: Iterator[CsvRow], size: int) -> Iterator[list[CsvRow]]:
    chunk: list[CsvRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the drop folder -----------------------------------------------------------------------------------

def inbox_folder(kind: str) -> Path:
    return Path(settings.FEEDS_DIR) / "inbox" / kind_folder(kind)


def _ready(name: str) -> bool:
    """Senders write under a dot name or with .part / .tmp and rename when complete: those are not ready."""
    return not (name.startswith(".") or name.endswith((".part", ".tmp")))


def feed_drops_claim(*, kind: str, now: datetime) -> list[tuple[Path, str]]:
    """Claim every dropped file of a kind: [(claimed path, delivered name)], oldest claim first.

    A file is claimed by renaming it into the inbox's .processing/ folder under a name carrying the claim
    time: os.rename is atomic, so of two workers at once exactly one gets each file. A file claimed longer
    than DROP_STALE ago is still there only because its worker died: it is claimed again (the content hash
    makes importing it again safe).
    """
    inbox = inbox_folder(kind)
    processing = inbox / ".processing"
    processing.mkdir(parents=True, exist_ok=True)
    claimed: list[tuple[Path, str]] = []
    stale_before = now.timestamp() - DROP_STALE.total_seconds()
    for entry in sorted(processing.iterdir()):
        claimed_at, _, rest = entry.name.partition("~")
        name = rest.partition("-")[2]
        if not (entry.is_file() and name and claimed_at.replace(".", "").isdigit()):
            continue
        if float(claimed_at) >= stale_before:
            continue
        target = _claim(entry, processing, name, now)
        if target:
            logger.warning("feed drop %s was claimed at %s and never finished: importing it again", name, claimed_at)
            claimed.append((target, name))
    for entry in sorted(inbox.iterdir()):
        if entry.is_file() and _ready(entry.name):
            target = _claim(entry, processing, entry.name, now)
            if target:
                claimed.append((target, entry.name))
    return claimed


def _claim(entry: Path, processing: Path, name: str, now: datetime) -> Path | None:
    target = processing / f"{now.timestamp():.6f}~{uuid.uuid4().hex[:8]}-{name}"
    try:
        os.rename(entry, target)
    except FileNotFoundError:  # another worker claimed it first
        return None
    return target


def feed_drops_import(
    *, kind: str, now: datetime, import_file: Callable[..., FeedImport],
) -> list[tuple[str, FeedImport | None]]:
    """Claim the kind's dropped files and import each with `import_file(file, name=, source=, now=)`.

    A claimed file is deleted once imported (its copy is in the archive). One that fails unexpectedly is left
    in .processing/ (logged) and picked up again after DROP_STALE; the others go on.
    """
    results: list[tuple[str, FeedImport | None]] = []
    for claimed, name in feed_drops_claim(kind=kind, now=now):
        started = time.monotonic()
        try:
            with open(claimed, "rb") as file:
                result = import_file(file, name=name, source=FeedFile.Source.DROP, now=now)
        except Exception:
            logger.exception("feed drop %s could not be imported; it stays in %s", name, claimed.parent)
            results.append((name, None))
            continue
        claimed.unlink(missing_ok=True)
        logger.info("feed drop %s: %s (%.1f s)", name, result.summary(), time.monotonic() - started)
        results.append((name, result))
    return results


def feed_report_lines(result: FeedImport, *, name: str, shown: int = 10) -> list[str]:
    """What a command prints for one imported file (`name`, as given): its summary, then its first rejected rows."""
    feed = result.feed
    lines = [f"{name}: {result.summary()} (feed #{feed.pk})"]
    if not result.duplicate:
        problems = feed.problems.order_by("line", "pk")[:shown]
        lines += [f"  line {problem.line}: {problem.reason}" for problem in problems]
        if feed.rows_rejected > shown:
            lines.append(f"  … {feed.rows_rejected - shown} more rejected rows (console: Feeds, #{feed.pk})")
    return lines


def feed_import(file, *, kind: str, name: str, source: str, actor, now: datetime,
                apply: Callable[[int, uuid.UUID], FeedFile]) -> FeedImport:
    """Receive a file of `kind` and, unless its content was seen before, apply it with `apply(feed_id, claim)`.

    Content already imported (or being imported right now by another process) changes nothing and comes back
    as `duplicate` with the first import's report; a file an earlier delivery found unreadable is refused again.
    """
    feed, new = feed_file_receive(file, kind=kind, name=name, source=source, actor=actor, now=now)
    claim = feed_file_claim(feed_id=feed.pk, now=now)
    if claim is None:
        feed.refresh_from_db()
        return FeedImport(feed=feed, duplicate=not (new and feed.status == FeedFile.Status.REFUSED))
    try:
        return FeedImport(feed=apply(feed.pk, claim))
    except ClaimLost:
        feed.refresh_from_db()
        return FeedImport(feed=feed, duplicate=True)
