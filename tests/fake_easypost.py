"""A local stand-in for EasyPost's API (v2) that the official SDK talks to through its `api_base`.

It checks what the SDK sends (the bearer key, each request's wrapper and required fields) and answers in
EasyPost's response shapes: Shipment (with rates, then postage_label, tracker and selected_rate once bought),
refunds, scan forms, the label files, and EasyPost's error bodies (`{"error": {"code", "message", "errors"}}`).
Tests steer it: `fail_next` answers the next matching request with an error, `delay` holds answers (timeouts),
and `purchases` counts labels bought — the number a double purchase would raise. Loopback only.
"""

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "EZTK-test-key"
RATES = (  # carrier, service, amount, delivery days
    ("USPS", "GroundAdvantage", "5.10", 5),
    ("USPS", "Priority", "7.80", 2),
    ("UPS", "NextDayAir", "24.60", 1),
)
MAX_OUNCES = 70 * 16  # heavier: no carrier rates it
BAD_ZIP = "00000"  # an address EasyPost cannot verify


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class FakeEasyPost:
    def __init__(self):
        self.lock = threading.Lock()
        self.shipments: dict[str, dict] = {}
        self.scan_forms: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.purchases = 0
        self.fail_next: dict[str, tuple[int, dict]] = {}  # path pattern -> (status, error body), used once
        self.delay = 0.0
        self.slow: dict[str, float] = {}  # path pattern -> seconds to hold the answer (after doing the work)
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, path_pattern: str, status: int, code: str, message: str) -> None:
        """Answer the next request whose path matches with EasyPost's error body."""
        self.fail_next[path_pattern] = (status, {"error": {"code": code, "message": message, "errors": []}})

    # --- the API -------------------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):016x}"

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _shipment_create(self, body: dict) -> tuple[int, dict]:
        shipment = body.get("shipment")
        if not isinstance(shipment, dict):
            return 422, _error("PARAMETER.REQUIRED", "Missing required parameter: shipment.")
        for side in ("from_address", "to_address"):
            address = shipment.get(side)
            if not isinstance(address, dict) or not all(address.get(key) for key in ("street1", "city", "zip",
                                                                                     "country")):
                return 422, _error("ADDRESS.VERIFY.FAILURE", f"{side} is missing street1, city, zip or country.")
        if shipment["to_address"]["zip"] == BAD_ZIP:
            return 422, _error("ADDRESS.VERIFY.FAILURE", "Address not found.")
        parcel = shipment.get("parcel")
        if not isinstance(parcel, dict) or not isinstance(parcel.get("weight"), int | float) or parcel["weight"] <= 0:
            return 422, _error("PARCEL.WEIGHT.INVALID", "Parcel weight must be a positive number of ounces.")
        options = shipment.get("options") or {}
        if options.get("label_format", "PDF") not in ("PDF", "ZPL", "PNG", "EPL2"):
            return 422, _error("SHIPMENT.OPTIONS.INVALID", "label_format is not supported.")
        shipment_id = self._new_id("shp")
        rates = [] if parcel["weight"] > MAX_OUNCES else [
            {"id": self._new_id("rate"), "object": "Rate", "shipment_id": shipment_id, "carrier": carrier,
             "service": service, "rate": amount, "currency": "USD", "delivery_days": days}
            for carrier, service, amount, days in RATES
        ]
        record = {
            "id": shipment_id, "object": "Shipment", "mode": "test", "reference": shipment.get("reference"),
            "from_address": shipment["from_address"], "to_address": shipment["to_address"], "parcel": parcel,
            "options": {"label_format": options.get("label_format", "PDF")}, "is_return": bool(
                shipment.get("is_return")),
            "rates": rates, "messages": [] if rates else [
                {"carrier": "USPS", "type": "rate_error", "message": "Weight exceeds the maximum."}],
            "selected_rate": None, "postage_label": None, "tracker": None, "tracking_code": None,
            "refund_status": None,
        }
        self.shipments[shipment_id] = record
        return 201, record

    def _shipment_buy(self, shipment_id: str, body: dict) -> tuple[int, dict]:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            return 404, _error("NOT_FOUND", "The requested resource could not be found.")
        if shipment["postage_label"] is not None:
            return 422, _error("SHIPMENT.POSTAGE.EXISTS", "Postage already exists for this shipment.")
        rate_id = (body.get("rate") or {}).get("id")
        rate = next((rate for rate in shipment["rates"] if rate["id"] == rate_id), None)
        if rate is None:
            return 422, _error("SHIPMENT.RATE.INVALID", "The rate is not one of this shipment's rates.")
        self.purchases += 1
        tracker_id = self._new_id("trk")
        label_format = shipment["options"]["label_format"]
        extension = "zpl" if label_format == "ZPL" else "pdf"
        shipment.update(
            selected_rate=rate, tracking_code=f"EZ{self.purchases:08d}US",
            postage_label={"object": "PostageLabel", "label_file_type": extension,
                           "label_url": self._url(f"/files/{shipment_id}.{extension}")},
            tracker={"id": tracker_id, "object": "Tracker", "status": "pre_transit",
                     "public_url": f"https://track.easypost.example/{tracker_id}"},
        )
        return 200, shipment

    def _shipment_refund(self, shipment_id: str) -> tuple[int, dict]:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            return 404, _error("NOT_FOUND", "The requested resource could not be found.")
        if shipment["postage_label"] is None:
            return 422, _error("SHIPMENT.REFUND.INVALID", "Only purchased shipments can be refunded.")
        shipment["refund_status"] = "submitted"
        return 200, shipment

    def _scan_form_create(self, body: dict) -> tuple[int, dict]:
        shipments = (body.get("scan_form") or {}).get("shipments") or []
        ids = [item.get("id") for item in shipments if isinstance(item, dict)]
        found = [self.shipments.get(shipment_id) for shipment_id in ids]
        if not ids or None in found or any(item["postage_label"] is None for item in found):
            return 422, _error("SCAN_FORM.INVALID", "Every shipment of a scan form must be purchased.")
        form_id = self._new_id("sf")
        form = {"id": form_id, "object": "ScanForm", "status": "created",
                "tracking_codes": [item["tracking_code"] for item in found],
                "form_url": self._url(f"/files/{form_id}.pdf"), "form_file_type": "pdf"}
        self.scan_forms[form_id] = form
        return 201, form

    def answer(self, method: str, path: str, headers, body: dict) -> tuple[int, dict | bytes]:
        with self.lock:
            self.requests.append((method, path, body))
            for pattern, failure in list(self.fail_next.items()):
                if re.fullmatch(pattern, path):
                    del self.fail_next[pattern]
                    return failure
            if path.startswith("/files/"):
                return 200, f"%fake-label {path}".encode()
            if headers.get("Authorization") != f"Bearer {API_KEY}":
                return 401, _error("APIKEY.INVALID", "The API key is invalid.")
            if method == "POST" and path == "/v2/shipments":
                return self._shipment_create(body)
            match = re.fullmatch(r"/v2/shipments/(shp_\w+)(/buy|/refund)?", path)
            if match and method == "GET" and not match.group(2):
                shipment = self.shipments.get(match.group(1))
                return (200, shipment) if shipment else (404, _error("NOT_FOUND", "Not found."))
            if match and method == "POST" and match.group(2) == "/buy":
                return self._shipment_buy(match.group(1), body)
            if match and method == "POST" and match.group(2) == "/refund":
                return self._shipment_refund(match.group(1))
            if method == "POST" and path == "/v2/scan_forms":
                return self._scan_form_create(body)
            return 404, _error("NOT_FOUND", f"No route {method} {path}.")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_unparsable": True}
                path = self.path.split("?")[0]
                status, answer = fake.answer(method, path, self.headers, body)
                hold = fake.delay + sum(seconds for pattern, seconds in fake.slow.items()
                                        if re.fullmatch(pattern, path))
                if hold:
                    time.sleep(hold)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if isinstance(answer, bytes)
                                 else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def log_message(self, *args):
                pass

        return Handler


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "errors": []}}
