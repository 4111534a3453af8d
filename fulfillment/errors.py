"""The one kind of refusal the store app gives: a message the associate reads where they are looking.

Every service of the store app raises a subclass of `StoreRefusal`; the pages show its message in the
message area (htmx) or on the page, with `status` as the HTTP status (409 for a stale version).
"""


class StoreRefusal(Exception):
    status = 422

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
