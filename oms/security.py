"""Protections every request shares (docs/deploy.md): sessions that end when a shared tablet sits idle, the
client's real address behind a proxy, and a brake on guessing the codes in customers' links."""

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

# A session's expiry moves forward at most this often: a scan every second must not write the session each time.
SESSION_TOUCH_SECONDS = 60


class RequestSizeLimitMiddleware:
    """413 for a request that says its body is over MAX_REQUEST_BYTES, before anything reads it (a multi-gigabyte
    "upload" would otherwise be streamed to disk first). Smaller limits per kind are the views' and Django's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest("Content-Length is not a number.", content_type="text/plain")
        if length > settings.MAX_REQUEST_BYTES:
            return HttpResponse(f"The request is {length} bytes; at most {settings.MAX_REQUEST_BYTES} are accepted.",
                                status=413, content_type="text/plain")
        return self.get_response(request)


class SessionIdleMiddleware:
    """A signed-in session lives SESSION_IDLE_MINUTES past its last use, not past its login.

    Django's session expires SESSION_COOKIE_AGE after it was last saved; touching it (at most once a minute)
    saves it, so an associate who keeps working stays signed in and a tablet left on the counter signs out.
    Sits after SessionMiddleware, which saves what this marks.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            if now - session.get("_touched", 0) >= SESSION_TOUCH_SECONDS:
                session["_touched"] = now
        return response


def session_touched_at_login(sender, request, user, **kwargs) -> None:
    """A session starts touched: its first minute of requests writes nothing more (login saves it anyway)."""
    if request is not None and hasattr(request, "session"):
        request.session["_touched"] = int(time.time())


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or — behind TRUSTED_PROXY_COUNT proxies — the address the outermost of
    them saw, read from X-Forwarded-For counted from the right (entries further left are the client's to forge)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def code_guesses_exceeded(request, *, kind: str) -> bool:
    """Whether this address made more than CODE_GUESS_LIMIT wrong guesses of a `kind` of code in the window."""
    return cache.get(_guess_key(request, kind), 0) >= settings.CODE_GUESS_LIMIT


def code_guess_record(request, *, kind: str) -> None:
    """Count one wrong guess of a `kind` of code from this address (the window starts at the first)."""
    key = _guess_key(request, kind)
    if not cache.add(key, 1, timeout=settings.CODE_GUESS_WINDOW_MINUTES * 60):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=settings.CODE_GUESS_WINDOW_MINUTES * 60)


def _guess_key(request, kind: str) -> str:
    return f"code-guess:{kind}:{client_ip(request)}"


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in sees (django-axes calls it): why, for how long, and who can unlock it. 429."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME * 60))
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)
