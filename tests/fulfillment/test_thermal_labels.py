"""ZPL labels for 4×6 thermal printers, checked by reading their commands back, and raw printing to port 9100."""

import datetime
import re
import socket
import threading

import pytest

from fulfillment.carriers.base import Address
from fulfillment.documents import LabelData, shipping_label_zpl
from fulfillment.printing import PrinterError, label_print_raw
from tests.workers import free_port

SENDER = Address(name="Storefill Chicago", address1="1 Main St", city="Chicago", postal_code="60601", country="US",
                 province="IL")
RECIPIENT = Address(name="Zoë ^Carat~ O'Neil", address1="5 Elm St", city="Boston", postal_code="02108",
                    country="US", province="MA")


def label(**changes) -> LabelData:
    fields = dict(sender=SENDER, recipient=RECIPIENT, carrier_name="Storefill Post", service_name="Ground",
                  weight_grams=1250, tracking_number="SF000000016US", reference="#1042", parcel_index=1,
                  parcel_count=2, shipped_on=datetime.date(2026, 12, 8))
    return LabelData(**(fields | changes))


def commands(zpl: bytes) -> list[tuple[str, str]]:
    """(command, arguments) in order; field data unescaped from ^FH's _XX form."""
    found = []
    for match in re.finditer(r"([\^~])([A-Z@][A-Z0-9@]?)([^\^~]*)", zpl.decode("utf-8")):
        name, arguments = match.group(1) + match.group(2), match.group(3)
        if name == "^FD":
            arguments = re.sub(r"_([0-9A-F]{2})", lambda hexed: chr(int(hexed.group(1), 16)), arguments)
        found.append((name, arguments.strip()))
    return found


def field_texts(zpl: bytes) -> list[str]:
    return [arguments for name, arguments in commands(zpl) if name == "^FD"]


def test_a_label_is_one_zpl_format_of_4_by_6_inches_at_203_dpi():
    found = commands(shipping_label_zpl(label()))
    names = [name for name, _ in found]
    assert names[0] == "^XA" and names[-1] == "^XZ" and names.count("^XA") == 1
    assert ("^PW", "812") in found and ("^LL", "1218") in found and ("^CI", "28") in found


def test_the_tracking_number_is_a_code_128_barcode_with_its_digits():
    found = commands(shipping_label_zpl(label()))
    barcode = next(index for index, (name, _) in enumerate(found) if name == "^BC")
    assert found[barcode][1].startswith("N,180,Y")  # normal, 180 dots high, interpretation line printed
    assert found[barcode + 2] == ("^FD", "SF000000016US")  # ^FH then the field data


def test_the_label_carries_the_ship_to_and_return_address_blocks():
    texts = field_texts(shipping_label_zpl(label()))
    assert "SHIP TO" in texts and "FROM" in texts
    assert "Zoë ^Carat~ O'Neil" in texts  # command characters escaped, printed as written
    assert "Boston, MA 02108" in " ".join(texts) or any("02108" in text for text in texts)
    assert "1 Main St" in texts and "Storefill Post" in texts and "1 of 2" in texts and "#1042" in texts


def test_no_text_starts_a_zpl_command():
    raw = shipping_label_zpl(label(reference="^XZ~JA")).decode()
    assert raw.count("^XZ") == 1 and "~JA" not in raw  # the reference cannot end the label or cancel the queue


def test_a_return_label_says_return():
    assert "RETURN" in field_texts(shipping_label_zpl(label(is_return=True)))


class Printer:
    """A network label printer stand-in: accepts one connection on a free port and keeps the bytes."""

    def __init__(self):
        self.port = free_port()
        self.received = b""
        self.socket = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        connection, _ = self.socket.accept()
        with connection:
            while chunk := connection.recv(65536):
                self.received += chunk
        self.socket.close()


def test_a_label_is_sent_raw_to_the_printers_port():
    printer = Printer()
    zpl = shipping_label_zpl(label())
    label_print_raw(host="127.0.0.1", port=printer.port, data=zpl)
    printer.thread.join(timeout=5)
    assert printer.received == zpl


def test_a_printer_that_is_off_gives_a_clear_message():
    with pytest.raises(PrinterError, match="could not be reached.*download the label"):
        label_print_raw(host="127.0.0.1", port=free_port(), data=b"^XA^XZ", timeout=1)


def test_a_printer_that_stops_taking_data_gives_a_clear_message():
    """It accepts the connection, then reads nothing: the send fills the buffers and times out."""
    stuck = socket.create_server(("127.0.0.1", 0))
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(stuck.accept()[0]), daemon=True)
    thread.start()
    try:
        with pytest.raises(PrinterError, match="did not answer"):
            label_print_raw(host="127.0.0.1", port=stuck.getsockname()[1], data=b"x" * 50_000_000, timeout=0.5)
    finally:
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        stuck.close()


def test_no_printer_set_up_says_to_download():
    with pytest.raises(PrinterError, match="No printer"):
        label_print_raw(host="", data=b"^XA^XZ")
