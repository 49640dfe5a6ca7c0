"""The hostile-input tier: what an anonymous client, a user and an admin who is not root on
the host try against a running `deskpool serve` (scripts/e2e runs it as `hostile`).

Every refusal must be a 4xx within a second, leave nothing on disk (no version, no volume,
no staged upload), and the store must grow by less than 1 MB over the whole tier. No answer
may be a 5xx. Real parts: the broker process, pam_unix users, qemu:///system, the gateway
in front of a real spice-server.

Environment (set by scripts/e2e): DESKPOOL_URL, E2E_USER/E2E_PASSWORD, E2E_ADMIN/
E2E_ADMIN_PASSWORD, E2E_POOL, E2E_TEMPLATE, E2E_STATE, E2E_IMPORT_DIR, E2E_IMAGES,
E2E_MAX_IMAGE_BYTES.
"""

import http.client
import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from common import check, failures

URL = urllib.parse.urlsplit(os.environ["DESKPOOL_URL"])
STATE = os.environ["E2E_STATE"]
IMPORT_DIR = os.environ["E2E_IMPORT_DIR"]
IMAGES = os.environ["E2E_IMAGES"]
TEMPLATE = os.environ["E2E_TEMPLATE"]
POOL = os.environ["E2E_POOL"]
MAX_IMAGE_BYTES = int(os.environ["E2E_MAX_IMAGE_BYTES"])
STORE = os.path.join(STATE, "deskpool.sqlite")

# Addresses the broker sees through X-Forwarded-For (scripts/e2e trusts 127.0.0.1 as a
# proxy). Documentation ranges: only header values, nothing is ever sent there.
ATTACKER = "203.0.113.66"
USERS_OWN = "198.51.100.20"

statuses = []


def request(method, path, body=None, headers=None, token=None, timeout=30):
    """One HTTP request on a fresh connection; returns (status, headers, body bytes, seconds)."""
    connection = http.client.HTTPConnection(URL.hostname, URL.port, timeout=timeout)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        result = (response.status, dict(response.getheaders()), data, time.monotonic() - started)
    finally:
        connection.close()
    statuses.append((method, path.split("?")[0][:80], result[0]))
    return result


def login(user, password, address=None):
    headers = {"X-Forwarded-For": address} if address else {}
    return request("POST", "/api/v1/auth/login", {"user": user, "password": password}, headers)


def token_of(user, password, address=USERS_OWN):
    status, _, body, _ = login(user, password, address)
    if status != 200:
        raise SystemExit(f"cannot log in as {user}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


def store_bytes():
    """The store's logical size (pages in use, WAL content included), read-only."""
    db = sqlite3.connect(f"file:{STORE}?mode=ro", uri=True)
    try:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size
    finally:
        db.close()


def audit_rows(action=None, limit=2000):
    db = sqlite3.connect(f"file:{STORE}?mode=ro", uri=True)
    try:
        sql = "SELECT actor, action, subject, result, coalesce(detail, '') FROM audit"
        args = ()
        if action:
            sql += " WHERE action = ?"
            args = (action,)
        return db.execute(sql + " ORDER BY id DESC LIMIT ?", args + (limit,)).fetchall()
    finally:
        db.close()


def versions(admin):
    status, _, body, _ = request("GET", f"/api/v1/admin/templates/{TEMPLATE}", token=admin)
    assert status == 200, status
    return [v["number"] for v in json.loads(body)["versions"]]


def disk_snapshot():
    """What an import could leave: base volumes (and anything not a desktop's clone) in the
    storage pool, and staged uploads. Desktop clones (dp-DESKTOP-N.qcow2) come and go with the
    pools of the other tests and are not looked at."""
    uploads = os.path.join(STATE, "uploads")
    staged = sorted(os.listdir(uploads)) if os.path.isdir(uploads) else []
    volumes = [n for n in os.listdir(IMAGES) if n.startswith("dp-base-") or not n.startswith("dp-")]
    return sorted(volumes), staged


# -- files ------------------------------------------------------------------------------------

def test_file_modes():
    mode = stat.S_IMODE(os.stat(STATE).st_mode)
    check(mode == 0o700, f"state directory {STATE} is 0700 (it is {mode:04o})")
    for name in ["deskpool.sqlite", "deskpool.sqlite-wal", "deskpool.sqlite-shm", "console-token.key"]:
        path = os.path.join(STATE, name)
        if os.path.exists(path):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            check(mode & 0o077 == 0, f"{name} is readable by its owner only (it is {mode:04o})")
    bases = [n for n in os.listdir(IMAGES) if n.startswith("dp-base-")]
    check(bases, "the pool holds base volumes to check")
    for name in bases:
        mode = stat.S_IMODE(os.stat(os.path.join(IMAGES, name)).st_mode)
        check(mode & 0o004 == 0, f"base volume {name} is not world-readable (it is {mode:04o})")


# -- image imports ----------------------------------------------------------------------------

def refused_import(admin, what, *, body=None, raw=None, expect=(400, 413)):
    before_versions, before_disk = versions(admin), disk_snapshot()
    path = f"/api/v1/admin/templates/{TEMPLATE}/versions"
    if raw is not None:
        status, _, text, seconds = request("POST", path + "?note=hostile", raw, {"Content-Type": "application/octet-stream"}, admin)
    else:
        status, _, text, seconds = request("POST", path, body, token=admin)
    check(status in expect, f"import {what}: {status} {text[:160]!r}")
    check(seconds < 1.5, f"import {what}: answered in {seconds:.2f} s")
    check(versions(admin) == before_versions, f"import {what}: no version was added")
    check(disk_snapshot() == before_disk, f"import {what}: no volume and no staged upload left")


def endless_upload(admin):
    """Streams zeros with chunked encoding until the broker answers; it must refuse at
    images.maxImageBytes with 413 and keep nothing. A reader thread takes the answer as it
    comes: once the broker closes, more sending only meets a reset."""
    before_versions, before_disk = versions(admin), disk_snapshot()
    sock = socket.create_connection((URL.hostname, URL.port), timeout=30)
    sock.sendall((f"POST /api/v1/admin/templates/{TEMPLATE}/versions?note=endless HTTP/1.1\r\n"
                  f"Host: {URL.hostname}\r\nAuthorization: Bearer {admin}\r\n"
                  "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
    answer = bytearray()
    closed = threading.Event()

    def read():
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                answer.extend(data)
        except OSError:
            pass
        closed.set()

    reader = threading.Thread(target=read)
    reader.start()
    chunk = b"%x\r\n" % (1 << 20) + bytes(1 << 20) + b"\r\n"
    sent = 0
    started = time.monotonic()
    try:
        while not answer and not closed.is_set() and sent <= 4 * MAX_IMAGE_BYTES and time.monotonic() - started < 60:
            sock.sendall(chunk)
            sent += 1 << 20
    except OSError:
        pass  # the broker stopped reading: what it answered is below
    closed.wait(15)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    reader.join(5)
    sock.close()
    status_line = bytes(answer).split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split()
    statuses.append(("POST", "endless upload", int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0))
    check(status_line.startswith("HTTP/1.1 413"), f"an endless upload is cut with 413 (got {status_line!r} after {sent >> 20} MiB)")
    check(closed.is_set(), "the broker closed the connection of the endless upload")
    check(sent <= 2 * MAX_IMAGE_BYTES + (16 << 20), f"the broker stopped reading near the limit ({sent >> 20} MiB sent)")
    time.sleep(0.5)
    check(versions(admin) == before_versions and disk_snapshot() == before_disk, "endless upload: nothing kept")


def test_imports(admin, work):
    refused_import(admin, "an imagePath on the host (/dev/zero)", body={"imagePath": "/dev/zero", "note": "x"})
    refused_import(admin, "an imagePath of the broker's key", body={"imagePath": os.path.join(STATE, "console-token.key"), "note": "x"})
    os.symlink("/etc/shadow", os.path.join(IMPORT_DIR, "shadow.qcow2"))
    refused_import(admin, "a symlink out of the import directory", body={"importFile": "shadow.qcow2", "note": "x"})
    os.symlink("/dev/zero", os.path.join(IMPORT_DIR, "zero.raw"))
    refused_import(admin, "a symlink to /dev/zero", body={"importFile": "zero.raw", "note": "x"})
    os.mkfifo(os.path.join(IMPORT_DIR, "fifo.raw"))
    refused_import(admin, "a FIFO", body={"importFile": "fifo.raw", "note": "x"})
    os.mknod(os.path.join(IMPORT_DIR, "null.raw"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    refused_import(admin, "a character device", body={"importFile": "null.raw", "note": "x"})
    refused_import(admin, "a name with ../", body={"importFile": "../deskpool.sqlite", "note": "x"})
    backing = os.path.join(IMPORT_DIR, "backing.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", backing], check=True)
    refused_import(admin, "a qcow2 with a backing file on a host file", body={"importFile": "backing.qcow2", "note": "x"})
    datafile = os.path.join(IMPORT_DIR, "datafile.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", f"data_file={work}/data.raw", datafile, "16M"], check=True)
    refused_import(admin, "a qcow2 with an external data file", body={"importFile": "datafile.qcow2", "note": "x"})
    big = os.path.join(IMPORT_DIR, "big.raw")
    with open(big, "wb") as f:
        f.truncate(MAX_IMAGE_BYTES + (1 << 20))
    refused_import(admin, "a file over images.maxImageBytes", body={"importFile": "big.raw", "note": "x"})
    huge = os.path.join(IMPORT_DIR, "huge.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", huge, "64T"], check=True)
    refused_import(admin, "a qcow2 whose virtual size is over images.maxVirtualBytes", body={"importFile": "huge.qcow2", "note": "x"})
    endless_upload(admin)


def test_oversized_content_length(admin):
    sock = socket.create_connection((URL.hostname, URL.port), timeout=10)
    started = time.monotonic()
    sock.sendall((f"POST /api/v1/admin/templates/{TEMPLATE}/versions?note=big HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {admin}\r\nContent-Type: application/octet-stream\r\n"
                  f"Content-Length: {MAX_IMAGE_BYTES + 1}\r\n\r\n").encode())
    answer = sock.recv(4096)
    sock.close()
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    statuses.append(("POST", "content-length over the limit", int(line.split()[1]) if len(line.split()) > 1 else 0))
    check(line.startswith("HTTP/1.1 413"), f"a Content-Length over images.maxImageBytes: 413 at once (got {line!r})")
    check(time.monotonic() - started < 1.5, "a Content-Length over the limit is answered within a second")


# -- template definitions ---------------------------------------------------------------------

ESCAPES = {
    "a DOCTYPE with an external entity":
        '<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/shadow">]><domain type="qemu"><name>&x;</name></domain>',
    "qemu:commandline":
        '<domain type="qemu" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"><name>x</name>'
        '<qemu:commandline><qemu:arg value="-chardev"/><qemu:arg value="file,id=f,path=/etc/shadow"/></qemu:commandline></domain>',
    "a hostdev":
        '<domain type="qemu"><name>x</name><devices><hostdev mode="subsystem" type="pci"><source>'
        '<address domain="0" bus="0" slot="2" function="0"/></source></hostdev></devices></domain>',
    "a filesystem passthrough":
        '<domain type="qemu"><name>x</name><devices><filesystem type="mount"><source dir="/"/>'
        '<target dir="root"/></filesystem></devices></domain>',
    "a disk on a host file":
        '<domain type="qemu"><name>x</name><devices><disk type="file" device="disk"><source file="/etc/shadow"/>'
        '<target dev="vdb"/></disk></devices></domain>',
    "a serial port to a host file":
        '<domain type="qemu"><name>x</name><devices><serial type="file"><source path="/etc/cron.d/x"/></serial></devices></domain>',
    "a direct interface":
        '<domain type="qemu"><name>x</name><devices><interface type="direct"><source dev="eth0" mode="bridge"/></interface></devices></domain>',
    "no security label":
        '<domain type="qemu"><name>x</name><seclabel type="none"/></domain>',
    "a kernel from the host":
        '<domain type="qemu"><name>x</name><os><type>hvm</type><kernel>/boot/vmlinuz</kernel></os></domain>',
}


def test_template_escapes(admin):
    for what, xml in ESCAPES.items():
        name = "hostile-" + "".join(c for c in what if c.isalnum())[:40].lower()
        status, _, text, _ = request("PUT", f"/api/v1/admin/templates/{name}", {"domainXML": xml}, token=admin)
        check(status == 400, f"template with {what}: 400 ({status} {text[:200]!r})")
        got, _, _, _ = request("GET", f"/api/v1/admin/templates/{name}", token=admin)
        check(got == 404, f"template with {what}: nothing stored ({got})")


# -- logins -----------------------------------------------------------------------------------

def test_huge_names():
    name = "a" * 1_000_000
    for _ in range(10):
        status, _, text, _ = login(name, "x")
        check(400 <= status < 500, f"a 1 MB user name: 4xx ({status})")
    longest = max((len(row[2]) + len(row[4]) for row in audit_rows(limit=200)), default=0)
    check(longest < 5000, f"the audit log holds no raw 1 MB name (longest subject+detail {longest})")


def pam_calls_for(user):
    """Refusals that reached PAM for `user`, as the broker audits them (`auth.login`, subject
    `user/NAME`, result `error: unauthenticated`; throttled attempts are `auth.throttled`)."""
    return [row for row in audit_rows("auth.login") if row[2] == f"user/{user}" and "unauthenticated" in row[3]]


def test_burst(user, password):
    before = len(pam_calls_for(user))
    results = []

    def attempt():
        status, headers, _, _ = login(user, "wrong-password", ATTACKER)
        results.append((status, headers.get("Retry-After")))

    threads = [threading.Thread(target=attempt) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted({status for status, _ in results})
    check(all(status in (401, 429, 503) for status, _ in results), f"100 parallel wrong passwords: 401/429/503 only ({codes})")
    check(all(retry for status, retry in results if status in (429, 503)), "every 429/503 carries Retry-After")
    reached = len(pam_calls_for(user)) - before
    check(reached <= 2, f"100 parallel wrong passwords reached PAM at most twice ({reached})")
    status, _, _, _ = login(user, password, USERS_OWN)
    check(status == 200, f"the user's right password from their own address still works ({status})")


# -- the gateway ------------------------------------------------------------------------------

def viewer_file(user_token):
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status, headers, body, _ = request("POST", f"/api/v1/pools/{POOL}/desktop", token=user_token)
        if status == 200:
            return body.decode(), headers.get("Deskpool-Desktop")
        check(status == 202, f"requesting a desktop: 200 or 202 ({status} {body[:160]!r})")
        if status != 202:
            return None, None
        time.sleep(3)
    check(False, "a desktop within 300 s")
    return None, None


def test_websocket_in_tunnel(user_token):
    vv, desktop = viewer_file(user_token)
    if not vv:
        return
    fields = dict(line.split("=", 1) for line in vv.splitlines() if "=" in line)
    proxy = urllib.parse.urlsplit(fields["proxy"])
    target = f"{fields['host']}:{fields['port']}"
    sock = socket.create_connection((proxy.hostname, proxy.port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(4096)
        if not data:
            break
        answer += data
    check(answer.startswith(b"HTTP/1.1 200"), f"the gateway opens a tunnel for the user's token ({answer[:40]!r})")
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    reply = b""
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                break
            reply += data
    except OSError:
        pass
    sock.close()
    check(b"101" not in reply[:64], f"a WebSocket upgrade inside the tunnel never reaches spice-server ({reply[:60]!r})")
    check(reply == b"", "the gateway closed the tunnel without forwarding an answer")
    if desktop:
        request("DELETE", f"/api/v1/sessions/{desktop}", token=user_token)


def main():
    work = tempfile.mkdtemp(prefix="hostile-")
    started_bytes = store_bytes()
    admin = token_of(os.environ["E2E_ADMIN"], os.environ["E2E_ADMIN_PASSWORD"])
    user = token_of(os.environ["E2E_USER"], os.environ["E2E_PASSWORD"])
    test_file_modes()
    test_oversized_content_length(admin)
    test_imports(admin, work)
    test_template_escapes(admin)
    test_huge_names()
    test_websocket_in_tunnel(user)
    test_burst(os.environ["E2E_USER"], os.environ["E2E_PASSWORD"])
    server_errors = [s for s in statuses if s[2] >= 500]
    check(not server_errors, f"no 5xx over the tier ({server_errors[:5]})")
    grown = store_bytes() - started_bytes
    check(grown < 1_000_000, f"the store grew by less than 1 MB over the tier ({grown} bytes)")
    print(f"hostile: {len(statuses)} requests, {len(failures)} failures", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
