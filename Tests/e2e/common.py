"""Small helpers the Python tiers share (the browser's are in chromium.py, the API's in
api_client.py)."""

import socket

# The checks that failed, in order (check() adds to it; a tier exits 1 when it is not empty).
failures = []


def check(condition, what):
    """Prints `ok   WHAT` or `FAIL WHAT`, and remembers a failure in `failures`."""
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (for a broker of a tier's own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
