"""Sending a label straight to a network thermal printer: raw bytes to its port 9100 (JetDirect/"raw" printing,
which every Zebra and most label printers speak). The printer is a packing station's setting."""

import socket

from fulfillment.errors import StoreRefusal

RAW_PORT = 9100


class PrinterError(StoreRefusal):
    """The printer did not take the label; the label stays downloadable."""


def label_print_raw(*, host: str, data: bytes, port: int = RAW_PORT, timeout: float = 5.0) -> None:
    """Send `data` (ZPL) to the printer at host:port. Raises PrinterError in the associate's words."""
    if not host:
        raise PrinterError("No printer is set up for this packing station: download the label instead.")
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)  # the printer prints what it has once the sender is done
    except TimeoutError:
        raise PrinterError(f"The printer at {host} did not answer: check it is on and online, or download the "
                           "label.") from None
    except OSError as exc:
        raise PrinterError(f"The printer at {host} could not be reached ({exc.strerror or exc}): check it is on "
                           "and online, or download the label.") from None
