"""EasyPost's tracker webhook: the carrier's scans of our parcels (docs/carriers.md, "Tracking").

EasyPost signs each delivery (X-Hmac-Signature, HMAC-SHA256 with the webhook secret); an unsigned or wrongly
signed one is refused (401) with nothing written. Events other than tracker updates, and trackers of parcels
that are not ours, are answered 200 and ignored, so EasyPost does not retry them forever.
"""

import logging

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from easypost.errors import SignatureVerificationError
from easypost.util import validate_webhook

from fulfillment.tracking import parcel_tracking_update, scans_from_easypost

logger = logging.getLogger(__name__)


@csrf_exempt  # EasyPost holds no CSRF token: its HMAC signature authenticates it
@require_POST
def easypost_tracker_webhook(request):
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.WEBHOOK_MAX_BYTES:
        return JsonResponse({"error": f"the body is over {settings.WEBHOOK_MAX_BYTES} bytes"}, status=413)
    body = request.body
    if not settings.EASYPOST_WEBHOOK_SECRET:
        return JsonResponse({"error": "EasyPost webhooks are not set up (EASYPOST_WEBHOOK_SECRET)"}, status=404)
    try:
        event = validate_webhook(body, {"X-Hmac-Signature": request.headers.get("X-Hmac-Signature")},
                                 settings.EASYPOST_WEBHOOK_SECRET)
    except SignatureVerificationError:
        logger.warning("rejected an EasyPost webhook: bad or missing signature")
        return JsonResponse({"error": "invalid webhook signature"}, status=401)
    except ValueError:
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    if not isinstance(event, dict) or not isinstance(event.get("result"), dict):
        return JsonResponse({"error": "not an EasyPost event"}, status=400)
    if event.get("description") not in ("tracker.created", "tracker.updated"):
        return JsonResponse({"outcome": "ignored"})
    tracker = event["result"]
    tracking_number = str(tracker.get("tracking_code") or "")
    if not tracking_number:
        return JsonResponse({"error": "the tracker has no tracking_code"}, status=400)
    result = parcel_tracking_update(tracking_number=tracking_number, scans=scans_from_easypost(tracker))
    logger.info("EasyPost tracker %s for %s: %s", tracker.get("id"), tracking_number, result.outcome)
    return JsonResponse({"outcome": result.outcome, "new_scans": result.new_scans})


urlpatterns = [
    path("tracker", easypost_tracker_webhook, name="easypost-tracker-webhook"),
]
