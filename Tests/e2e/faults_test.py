"""The fault tier: what production hosts do to a running `deskpool serve` (scripts/e2e runs it
as `faults`, as root, on qemu:///system with real guests and pam_unix users).

1. libvirtd restarted under a stream of requests: every answer comes within 10 s and is a
   200/202 or a 503 `hypervisorUnavailable` with Retry-After (the one documented retry);
   the host is connected again within 5 s of libvirtd answering; the user keeps exactly one
   desktop, no desktop has two users, nothing was failed; a request after it opens the
   console again.
2. libvirtd frozen (SIGSTOP) for 10 s: no request hangs past the keepalive (about 8 s; 15 s allowed on a loaded machine), the
   host is connected within 5 s of SIGCONT, service resumes.
3. A remote-viewer open through the gateway while libvirtd restarts: the session stays
   connected (qemu's client list is asked after the reconnect) and the viewer keeps running.
   Then the qemu of the user's desktop killed under a connected remote-viewer: the desktop is
   failed with the reason within seconds, the user's next request gets another desktop, the
   failed one is removed.
4. A second broker started while libvirtd is stopped: it starts, /healthz says `connecting`,
   /readyz is 503, the hosts API says why; once libvirtd answers it is connected within 5 s,
   says its storage pool is missing, and is ready once the pool is defined. Its store is on
   a small ext4 file system of its own: filled, /readyz turns 503 and writes are refused 503
   storeFailed with Retry-After at once, and service returns with the space. Its images file
   system (a small tmpfs) full: provisioning fails with the reason, backs off, leaves no
   partial volume, and works once space returns. Then the store's file system turns read-only
   (an ext4 error, errors=remount-ro): writes refused, /readyz 503. SIGTERM while desktops are
   cloned and booted stops it within 10 s, without an error logged for its own cancellation;
   the store file is intact and holds exactly the accepted writes.

It restarts the libvirtd that scripts/libvirtd started (pid file in /run/deskpool-rig), never
another one. Environment (set by scripts/e2e): DESKPOOL_URL, DESKPOOL_BIN, E2E_USER/
E2E_PASSWORD, E2E_ADMIN/E2E_ADMIN_PASSWORD, E2E_POOL, E2E_STATE.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import yaml

import api_client
from common import check, failures, free_port

URL = urllib.parse.urlsplit(os.environ["DESKPOOL_URL"])
BIN = os.environ["DESKPOOL_BIN"]
STATE = os.environ["E2E_STATE"]
POOL = os.environ["E2E_POOL"]
USER, PASSWORD = os.environ["E2E_USER"], os.environ["E2E_PASSWORD"]
ADMIN, ADMIN_PASSWORD = os.environ["E2E_ADMIN"], os.environ["E2E_ADMIN_PASSWORD"]
RIG = os.environ.get("DESKPOOL_RIG_DIR", "/run/deskpool-rig")
LIBVIRTD_PID = os.path.join(RIG, "libvirtd.pid")


def request(method, path, body=None, token=None, base=URL, timeout=30):
    """One request on a fresh connection (api_client.request), timed: (status, headers, body,
    seconds); status 0 on a connection error or timeout."""
    started = time.monotonic()
    status, headers, data = api_client.request(base, method, path, body=body, token=token, timeout=timeout)
    return status, headers, data, time.monotonic() - started


def token_of(user, password, base=URL):
    status, _, body, _ = request("POST", "/api/v1/auth/login", {"user": user, "password": password}, base=base)
    if status != 200:
        raise SystemExit(f"cannot log in as {user}: {status} {body[:200]!r}")
    return json.loads(body)["token"]


def libvirtd_answers():
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", "version"], capture_output=True, timeout=20).returncode == 0


def libvirtd_pid():
    with open(LIBVIRTD_PID) as f:
        return int(f.read().strip())


def stop_libvirtd():
    pid = libvirtd_pid()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def start_libvirtd():
    """Starts libvirtd again (scripts/libvirtd start: it waits until it answers); returns
    the monotonic time it answered."""
    subprocess.run(["scripts/libvirtd", "start"], check=True, capture_output=True, timeout=240)
    return time.monotonic()


def host_state(base=URL):
    status, _, body, _ = request("GET", "/healthz", base=base, timeout=5)
    if status != 200:
        return None
    return json.loads(body).get("hosts", {}).get("local")


def wait_connected(since, base=URL, limit=30):
    """Seconds from `since` until /healthz says the host is connected (or recovering)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if host_state(base) in ("connected", "recovering"):
            return time.monotonic() - since
        time.sleep(0.1)
    return None


def desktop_for(token, limit=900):
    """POSTs for the user's desktop until it is assigned (a TCG guest may have to boot)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status, headers, body, _ = request("POST", f"/api/v1/pools/{POOL}/desktop", token=token, timeout=60)
        if status == 200:
            return headers.get("deskpool-desktop")
        if status not in (202, 503):
            raise SystemExit(f"requesting a desktop: {status} {body[:300]!r}")
        time.sleep(min(5, int(headers.get("retry-after", "2"))))
    raise SystemExit("no desktop within the limit")


class RequestStream:
    """A user asking for their desktop every 0.3 s from a thread: each answer, when, how long."""

    def __init__(self, token):
        self.token = token
        self.answers = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.is_set():
            status, headers, body, seconds = request("POST", f"/api/v1/pools/{POOL}/desktop", token=self.token, timeout=60)
            code = None
            if status >= 400:
                try:
                    code = json.loads(body)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = body[:120]
            self.answers.append((status, code, headers.get("retry-after"), headers.get("deskpool-desktop"), seconds))
            time.sleep(0.3)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stopping.set()
        self.thread.join(90)


def check_stream(stream, name, longest):
    answers = stream.answers
    check(len(answers) > 5, f"{name}: the stream got answers ({len(answers)})")
    odd = [a for a in answers if not (a[0] in (200, 202) or (a[0] == 503 and a[1] == "hypervisorUnavailable"))]
    check(not odd, f"{name}: every answer is 200/202 or 503 hypervisorUnavailable (others: {odd[:5]})")
    without_retry = [a for a in answers if a[0] == 503 and not a[2]]
    check(not without_retry, f"{name}: every 503 has Retry-After ({len(without_retry)} without)")
    slowest = max(a[4] for a in answers)
    check(slowest < longest, f"{name}: no request waited {longest} s or more (slowest {slowest:.1f} s)")
    unavailable = sum(1 for a in answers if a[0] == 503)
    print(f"     {name}: {len(answers)} answers, {unavailable} of them 503 hypervisorUnavailable, slowest {slowest:.1f} s", flush=True)


def check_assignments(admin, desktop_id, what):
    status, _, body, _ = request("GET", f"/api/v1/admin/desktops?pool={POOL}", token=admin)
    if status != 200:
        check(False, f"{what}: admin desktops list answers ({status})")
        return
    desktops = json.loads(body)
    if isinstance(desktops, dict):
        desktops = desktops.get("desktops", desktops.get("items", []))
    mine = [d for d in desktops if d.get("user") == USER and d.get("state") not in ("failed", "deleting")]
    check([d["id"] for d in mine] == [desktop_id], f"{what}: the user holds exactly their one desktop ({[d['id'] for d in mine]})")
    failed = [d["name"] for d in desktops if d.get("state") == "failed"]
    check(not failed, f"{what}: no desktop was failed by the fault ({failed})")


def restart_under_requests(token, admin, desktop_id):
    print("== libvirtd restarted under a stream of requests", flush=True)
    with RequestStream(token) as stream:
        time.sleep(2)
        stop_libvirtd()
        time.sleep(3)  # libvirtd down for a while, as during a package upgrade
        answered = start_libvirtd()
        took = wait_connected(answered)
        check(took is not None and took < 5, f"restart: the host is connected again within 5 s of libvirtd answering ({took})")
        time.sleep(2)
    check_stream(stream, "restart", longest=10)
    ids = {a[3] for a in stream.answers if a[0] == 200}
    check(ids <= {desktop_id}, f"restart: every 200 gave the user's one desktop ({ids})")
    check(desktop_for(token, limit=60) == desktop_id, "restart: after it, the user's request opens the same desktop")
    check_assignments(admin, desktop_id, "restart")


def gateway_metrics():
    """The deskpool_gateway_* series of /metrics, by name (with labels)."""
    status, _, body, _ = request("GET", "/metrics")
    check(status == 200, f"/metrics answers ({status})")
    values = {}
    for line in body.decode().splitlines():
        if line.startswith("deskpool_gateway_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def open_viewer(token, desktop_id, admin, what):
    """remote-viewer on the user's desktop through the gateway, once the session is connected;
    the gateway's metrics count its tunnels and the display's bytes."""
    before = gateway_metrics()
    status, headers, vv, _ = request("POST", f"/api/v1/pools/{POOL}/desktop", token=token)
    check(status == 200 and headers.get("deskpool-desktop") == desktop_id, f"{what}: the user gets their desktop's .vv ({status})")
    work = tempfile.mkdtemp(prefix="deskpool-faults-viewer-")
    vv_path = os.path.join(work, "desktop.vv")
    with open(vv_path, "wb") as f:
        f.write(vv)
    viewer = subprocess.Popen(["remote-viewer", vv_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    desktop = None
    while time.monotonic() < deadline:
        desktop = admin_desktop(admin, desktop_id)
        if desktop and desktop["state"] == "connected":
            break
        time.sleep(0.5)
    check(desktop is not None and desktop["state"] == "connected", f"{what}: remote-viewer connected ({desktop and desktop['state']})")
    down = 'deskpool_gateway_bytes_total{direction="desktop_to_client"}'
    up = 'deskpool_gateway_bytes_total{direction="client_to_desktop"}'
    deadline = time.monotonic() + 30
    after = gateway_metrics()
    while time.monotonic() < deadline and after.get(down, 0) - before.get(down, 0) < 10000:
        time.sleep(0.5)
        after = gateway_metrics()
    check(after.get("deskpool_gateway_tunnels_open", 0) >= 2 and after.get("deskpool_gateway_tunnels_total", 0) >= before.get("deskpool_gateway_tunnels_total", 0) + 2,
          f"{what}: /metrics counts the viewer's tunnels ({before.get('deskpool_gateway_tunnels_total')} -> {after.get('deskpool_gateway_tunnels_total')}, open {after.get('deskpool_gateway_tunnels_open')})")
    check(after.get(down, 0) - before.get(down, 0) >= 10000 and after.get(up, 0) > before.get(up, 0),
          f"{what}: /metrics counts the display's bytes through the gateway ({before.get(down)} -> {after.get(down)} down, {before.get(up)} -> {after.get(up)} up)")
    return viewer, work, desktop


def console_survives_restart(token, admin, desktop_id):
    print("== an open console through a libvirtd restart", flush=True)
    viewer, work, _ = open_viewer(token, desktop_id, admin, "open console")
    try:
        stop_libvirtd()
        answered = start_libvirtd()
        took = wait_connected(answered)
        check(took is not None and took < 5, f"open console: the host is connected again within 5 s ({took})")
        time.sleep(5)  # the reconnect's session check (qemu's client list) has run
        desktop = admin_desktop(admin, desktop_id)
        check(desktop is not None and desktop["state"] == "connected",
              f"open console: the session is still connected after the restart ({desktop and desktop['state']})")
        check(viewer.poll() is None, "open console: remote-viewer still runs (qemu serves SPICE, not libvirtd)")
    finally:
        viewer.kill()
        viewer.wait()
        subprocess.run(["rm", "-rf", work])


def freeze(token, admin, desktop_id):
    print("== libvirtd frozen (SIGSTOP) for 10 s", flush=True)
    pid = subprocess.run(["pgrep", "-x", "libvirtd"], capture_output=True, text=True).stdout.split()
    check(len(pid) == 1, f"freeze: one libvirtd runs ({pid})")
    pid = int(pid[0])
    with RequestStream(token) as stream:
        time.sleep(1)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(10)
        finally:
            os.kill(pid, signal.SIGCONT)
        thawed = time.monotonic()
        took = wait_connected(thawed)
        check(took is not None and took < 5, f"freeze: the host is connected within 5 s of SIGCONT ({took})")
        time.sleep(2)
    check_stream(stream, "freeze", longest=15)
    check(desktop_for(token, limit=60) == desktop_id, "freeze: after it, the user's request opens the same desktop")
    check_assignments(admin, desktop_id, "freeze")


def admin_desktop(admin, desktop_id):
    status, _, body, _ = request("GET", f"/api/v1/admin/desktops/{desktop_id}", token=admin)
    return json.loads(body) if status == 200 else None


def killed_qemu(token, admin, desktop_id):
    """Kills the qemu of the user's desktop under a connected remote-viewer; returns the
    user's next desktop."""
    print("== the desktop's qemu killed while the user is connected", flush=True)
    viewer, work, desktop = open_viewer(token, desktop_id, admin, "killed qemu")
    try:
        killed_name = desktop["name"]
        with open(f"/run/libvirt/qemu/{desktop['name']}.pid") as f:
            qemu = int(f.read().strip())
        os.kill(qemu, signal.SIGKILL)
        killed = time.monotonic()
        deadline = killed + 30
        while time.monotonic() < deadline:
            desktop = admin_desktop(admin, desktop_id)
            if desktop is None or desktop["state"] in ("failed", "deleting"):
                break
            time.sleep(0.1)
        took = time.monotonic() - killed
        # A failed floating desktop is discarded at once (the pool refills): the audit log
        # keeps the failure and its reason.
        name = (desktop or {}).get("name") or killed_name
        status, _, body, _ = request("GET", f"/api/v1/admin/audit?subject=desktop/{name}&limit=50", token=admin)
        details = [e.get("detail", "") for e in json.loads(body).get("entries", [])] if status == 200 else []
        check(any("-> failed" in d and "crash" in d for d in details),
              f"killed qemu: the desktop was failed with the reason within {took:.1f} s ({[d for d in details if 'failed' in d][:2]})")
        check(took < 15, f"killed qemu: found out within 15 s ({took:.1f} s)")
    finally:
        viewer.kill()
        viewer.wait()
        subprocess.run(["rm", "-rf", work])
    new_id = desktop_for(token)
    check(new_id != desktop_id, f"killed qemu: the user's next request gets another desktop ({new_id})")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and admin_desktop(admin, desktop_id) is not None:
        time.sleep(1)
    check(admin_desktop(admin, desktop_id) is None, "killed qemu: the failed desktop is removed (the pool refills)")
    return new_id


TEMPLATE_XML = open("templates/tiny-linux/domain.xml").read()


ACCEPTED = set()  # template names the second broker answered 200 for
PADDING = "<!-- " + "x" * (200 << 10) + " -->"


def write_template(base, admin, name, big=False):
    """An admin write: PUT a template (the tiny one's XML; `big`: padded to about 200 KiB)."""
    xml = TEMPLATE_XML.replace("</domain>", PADDING + "</domain>") if big else TEMPLATE_XML
    answer = request("PUT", f"/api/v1/admin/templates/{name}", {"domainXML": xml, "memoryMiB": 256}, token=admin, base=base)
    if answer[0] == 200:
        ACCEPTED.add(name)
    return answer


def readiness(base, want, limit=10):
    """Polls /readyz until it answers `want` (answers are reused for a second); the last answer."""
    deadline = time.monotonic() + limit
    while True:
        status, _, body, _ = request("GET", "/readyz", base=base, timeout=5)
        if status == want or time.monotonic() > deadline:
            return status, (json.loads(body) if status in (200, 503) else {})
        time.sleep(0.3)


def refused_write(base, admin, what, name):
    status, headers, body, seconds = write_template(base, admin, name)
    code = json.loads(body).get("error", {}).get("code") if status >= 400 else None
    check(status == 503 and code == "storeFailed" and headers.get("retry-after"),
          f"{what}: a write is refused 503 storeFailed with Retry-After ({status} {code} {headers.get('retry-after')})")
    check(seconds < 5, f"{what}: refused at once ({seconds:.1f} s)")


def fill(directory):
    """Fills the file system of `directory` with a file (root: its reserve too); returns it."""
    filler = os.path.join(directory, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    return filler


def store_full(base, admin, store_dir):
    print("== the store's disk full", flush=True)
    status, _, _, _ = write_template(base, admin, "faults-before")
    check(status == 200, f"store: a write works before ({status})")
    filler = fill(store_dir)
    status, body = readiness(base, 503)
    check(status == 503 and body.get("store", {}).get("ok") is False, f"store full: /readyz is 503, the store not ok ({status} {body.get('store')})")
    # SQLite may fit a small write in pages it has; larger ones need room there is not.
    refused = None
    for attempt in range(30):
        status, headers, body, seconds = write_template(base, admin, f"faults-full-{attempt}", big=True)
        if status != 200:
            refused = (status, headers, body, seconds)
            break
    check(refused is not None, "store full: a write that needs room is refused")
    if refused:
        status, headers, body, seconds = refused
        code = json.loads(body).get("error", {}).get("code") if status >= 400 else None
        check(status == 503 and code == "storeFailed" and headers.get("retry-after"),
              f"store full: the write is refused 503 storeFailed with Retry-After ({status} {code} {headers.get('retry-after')})")
        check(seconds < 5, f"store full: refused at once ({seconds:.1f} s)")
    check(host_state(base) in ("connected", "recovering"), "store full: the broker still answers /healthz")
    os.remove(filler)
    status, _ = readiness(base, 200)
    check(status == 200, f"store full: /readyz is 200 again once space returns ({status})")
    status, _, _, _ = write_template(base, admin, "faults-after-full")
    check(status == 200, f"store full: writes work again once space returns ({status})")



def store_read_only(base, admin, store_dir):
    """The store's file system turns read-only under the running broker (as ext4 does after an
    I/O error with errors=remount-ro): writes are refused at once, readiness is false."""
    print("== the store's file system turns read-only", flush=True)
    device = os.path.basename(subprocess.run(["findmnt", "-n", "-o", "SOURCE", store_dir], capture_output=True, text=True).stdout.strip())
    with open(f"/sys/fs/ext4/{device}/trigger_fs_error", "w") as f:
        f.write("1")
    options = subprocess.run(["findmnt", "-n", "-o", "OPTIONS", store_dir], capture_output=True, text=True).stdout
    check("emergency_ro" in options or options.startswith("ro"), f"store read-only: the file system is read-only ({options.strip()})")
    status, body = readiness(base, 503)
    check(status == 503 and body.get("store", {}).get("ok") is False, f"store read-only: /readyz is 503 ({status})")
    refused_write(base, admin, "store read-only", "faults-ro")
    check(host_state(base) in ("connected", "recovering"), "store read-only: the broker still answers /healthz")


def store_intact(store_dir):
    """After the broker stopped: the store file is sound and holds exactly the accepted writes."""
    # A copy of the file and its WAL (the file system is read-only; SQLite replays the WAL).
    copy = tempfile.mkdtemp(prefix="deskpool-faults-store-")
    for suffix in ("", "-wal"):
        source = os.path.join(store_dir, "deskpool.sqlite" + suffix)
        if os.path.exists(source):
            shutil.copy(source, os.path.join(copy, "deskpool.sqlite" + suffix))
    store = sqlite3.connect(os.path.join(copy, "deskpool.sqlite"))
    try:
        integrity = store.execute("PRAGMA integrity_check").fetchone()[0]
        names = {row[0] for row in store.execute("SELECT name FROM template")}
    finally:
        store.close()
        shutil.rmtree(copy, ignore_errors=True)
    check(integrity == "ok", f"store: intact after the faults ({integrity})")
    faults = {name for name in names if name.startswith("faults-") and name != "faults-tiny"}
    check(faults == ACCEPTED, f"store: exactly the accepted writes are there ({sorted(faults)} vs {sorted(ACCEPTED)})")


def local_cli():
    help_text = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    return [BIN, "local"] if any(line.strip().startswith("local") for line in help_text.splitlines()) else [BIN]


def virsh(*arguments, check=True):
    result = subprocess.run(["virsh", "-q", "-c", "qemu:///system", *arguments], capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise SystemExit(f"virsh {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout


def pool_desktops(base, admin, pool):
    status, _, body, _ = request("GET", f"/api/v1/admin/desktops?pool={pool}", token=admin, base=base)
    return json.loads(body) if status == 200 else []


def images_full_then_operations(base, admin, config_path, instance, images_dir):
    """Publishes the tiny template into the second broker's own storage pool, fills its file
    system and applies a pool of 2: provisioning fails with the reason, backs off and leaves
    no clone. With space back, the broker clones and boots the desktops. Returns how many
    desktop operations run when it returns (for the graceful stop)."""
    print("== the images directory full, then operations in flight for the graceful stop", flush=True)
    work = os.path.dirname(config_path)
    template_dir = os.path.join(work, "faults-tiny")
    shutil.copytree("templates/tiny-linux", template_dir)
    cli = local_cli()
    image = os.environ.get("DESKPOOL_TINY_IMAGE", "/var/tmp/deskpool/tiny-linux.qcow2")
    for command in ([*cli, "template", "apply", template_dir], [*cli, "template", "publish", "faults-tiny", "--file", image, "--note", "faults"]):
        result = subprocess.run([*command, "--config", config_path], capture_output=True, text=True, timeout=300)
        check(result.returncode == 0, f"images full: {' '.join(command[len(cli):len(cli) + 2])} ({result.stderr.strip()[-300:]})")
    before = set(os.listdir(images_dir))
    filler = fill(images_dir)
    pool_file = os.path.join(work, "pool.yaml")
    with open(pool_file, "w") as f:
        yaml.safe_dump({"name": "faultsload", "template": "faults-tiny", "assignment": "floating", "min": 0, "max": 2, "spare": 2,
                        "naming": instance + "-{n:02}", "groups": ["nobody"]}, f)
    result = subprocess.run([*cli, "pool", "apply", pool_file, "--config", config_path], capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, f"images full: pool apply ({result.stderr.strip()[-300:]})")
    deadline = time.monotonic() + 30
    failed = []
    seen = set()
    while time.monotonic() < deadline and not failed:
        desktops = pool_desktops(base, admin, "faultsload")
        seen |= {d["id"] for d in desktops}
        failed = [d for d in desktops if d["state"] == "failed"]
        time.sleep(0.2)
    reason = failed[0].get("reason") or "" if failed else ""
    check(failed and "space" in reason.lower(), f"images full: provisioning fails with a clear reason ({reason!r})")
    time.sleep(3)
    seen |= {d["id"] for d in pool_desktops(base, admin, "faultsload")}
    check(len(seen) <= 3, f"images full: the pool backs off instead of cloning in a loop ({len(seen)} desktops tried)")
    left = set(os.listdir(images_dir)) - before - {"filler"}
    check(not left, f"images full: no partial volume is left ({sorted(left)})")
    os.remove(filler)
    deadline = time.monotonic() + 90
    busy = 0
    while time.monotonic() < deadline:
        states = [d["state"] for d in pool_desktops(base, admin, "faultsload")]
        busy = sum(1 for state in states if state in ("provisioning", "starting"))
        if busy >= 1 and "starting" in states:
            break
        time.sleep(0.2)
    check(busy >= 1, f"images full: with space back, desktops are cloned and booted ({busy} in flight)")
    return busy


def remove_domains(prefix):
    """Destroys and undefines the domains named `prefix...` and deletes their disks and the
    second broker's base volume (the e2e cleanup only knows its own instance)."""
    uri = "qemu:///system"
    names = subprocess.run(["virsh", "-q", "-c", uri, "list", "--all", "--name"], capture_output=True, text=True).stdout.split()
    for name in [n for n in names if n.startswith(prefix)]:
        xml = subprocess.run(["virsh", "-q", "-c", uri, "dumpxml", name], capture_output=True, text=True).stdout
        disks = [line.split("'")[1] for line in xml.splitlines() if "<source file=" in line]
        subprocess.run(["virsh", "-q", "-c", uri, "destroy", name], capture_output=True)
        subprocess.run(["virsh", "-q", "-c", uri, "undefine", name, "--nvram"], capture_output=True)
        for disk in disks:
            subprocess.run(["virsh", "-q", "-c", uri, "vol-delete", disk], capture_output=True)
    pools = subprocess.run(["virsh", "-q", "-c", uri, "pool-list", "--name"], capture_output=True, text=True).stdout.split()
    for pool in pools:
        volumes = subprocess.run(["virsh", "-q", "-c", uri, "vol-list", pool], capture_output=True, text=True).stdout.split("\n")
        for line in volumes:
            fields = line.split()
            if fields and fields[0].startswith("dp-base-faults-tiny-"):
                subprocess.run(["virsh", "-q", "-c", uri, "vol-delete", fields[0], "--pool", pool], capture_output=True)


def start_with_host_down():
    print("== a broker started while libvirtd is stopped", flush=True)
    with open(os.path.join(STATE, "deskpool.yaml")) as f:
        config = yaml.safe_load(f)
    work = tempfile.mkdtemp(prefix="deskpool-faults-", dir="/var/tmp")
    os.chmod(work, 0o711)  # qemu (libvirt-qemu) reaches the images below it
    config["stateDirectory"] = work
    config["http"]["port"] = free_port()
    config["gateway"]["port"] = free_port()
    config["broker"]["instance"] = config["broker"]["instance"] + "-late"
    config["broker"]["orphanGraceSeconds"] = 86400  # it shares the storage pool: never clean it
    config["images"] = {"importDirectory": os.path.join(work, "import")}
    # The store on a small ext4 file system of its own (a loop device), to fill it and to turn
    # it read-only the way ext4 does after an I/O error.
    store_dir = os.path.join(work, "state")
    os.mkdir(store_dir, 0o700)
    store_image = os.path.join(work, "store.img")
    subprocess.run(["truncate", "-s", "48M", store_image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", store_image], check=True)
    subprocess.run(["mount", "-o", "loop,errors=remount-ro", store_image, store_dir], check=True)
    os.chmod(store_dir, 0o700)
    config["stateDirectory"] = store_dir
    config["images"] = {"importDirectory": os.path.join(store_dir, "import")}
    # Its images on a small file system too (a storage pool of its own, defined only once the
    # host is back: first the broker must say the pool is missing).
    images_dir = os.path.join(work, "images")
    os.mkdir(images_dir, 0o711)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0711", "tmpfs", images_dir], check=True)
    storage_pool = config["broker"]["instance"] + "-pool"
    config["hosts"][0]["storagePool"] = storage_pool
    config["hosts"][0]["storagePath"] = images_dir
    path = os.path.join(work, "deskpool.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    base = urllib.parse.urlsplit(f"http://127.0.0.1:{config['http']['port']}")
    log = open(os.path.join(work, "serve.log"), "w")
    stop_libvirtd()
    process = None
    busy = 0
    try:
        process = subprocess.Popen([BIN, "serve", "--config", path], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and host_state(base) is None:
            if process.poll() is not None:
                break
            time.sleep(0.2)
        check(process.poll() is None, "host down: deskpool serve starts and stays up")
        state = host_state(base)
        check(state in ("connecting", "away"), f"host down: /healthz answers 200 and says the host is not connected ({state})")
        status, _, body, _ = request("GET", "/readyz", base=base)
        check(status == 503, f"host down: /readyz is 503 ({status})")
        detail = json.loads(body).get("hosts", [{}])[0].get("detail", "") if status == 503 else ""
        check("not connected" in detail, f"host down: /readyz says why ({detail!r})")
        admin = token_of(ADMIN, ADMIN_PASSWORD, base=base)
        status, _, body, _ = request("GET", "/api/v1/admin/hosts", token=admin, base=base)
        hosts = json.loads(body) if status == 200 else []
        check(hosts and hosts[0]["connected"] is False and hosts[0].get("link", {}).get("state") in ("connecting", "away")
              and hosts[0].get("error"), f"host down: the hosts API says the host is not connected, and why ({hosts})")

        answered = start_libvirtd()
        took = wait_connected(answered, base=base)
        check(took is not None and took < 5, f"host down: connected within 5 s of libvirtd answering ({took})")
        status, body = readiness(base, 503, limit=2)
        check(status == 503, f"storage pool missing: /readyz stays 503 ({status})")
        status, _, body, _ = request("GET", "/api/v1/admin/hosts", token=admin, base=base)
        error = (json.loads(body)[0].get("error") or "") if status == 200 else ""
        check(f"storage pool {storage_pool} is missing" in error, f"storage pool missing: the hosts API says so ({error!r})")
        virsh("pool-define-as", storage_pool, "dir", "--target", images_dir)
        virsh("pool-start", storage_pool)
        status, _ = readiness(base, 200)
        check(status == 200, f"host down: /readyz turns 200 once the host and its storage pool are there ({status})")

        store_full(base, admin, store_dir)
        busy = images_full_then_operations(base, admin, path, config["broker"]["instance"], images_dir)
        store_read_only(base, admin, store_dir)

        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        stopped = time.monotonic() - asked
        check(process.poll() is not None and stopped < 10,
              f"SIGTERM stops the broker within 10 s with {busy} desktop operation(s) in flight ({stopped:.1f} s)")
        store_intact(store_dir)
    finally:
        if process and process.poll() is None:
            process.kill()
            process.wait()
        if not libvirtd_answers():
            start_libvirtd()
        remove_domains(config["broker"]["instance"] + "-")
        for volume in virsh("vol-list", storage_pool, check=False).split("\n"):
            if volume.split():
                virsh("vol-delete", volume.split()[0], "--pool", storage_pool, check=False)
        virsh("pool-destroy", storage_pool, check=False)
        virsh("pool-undefine", storage_pool, check=False)
        subprocess.run(["umount", images_dir], capture_output=True)
        log.close()
        subprocess.run(["umount", store_dir], capture_output=True)
        with open(os.path.join(work, "serve.log")) as f:
            text = f.read()
        errors = [line for line in text.splitlines() if " error " in line.lower() and "cancel" in line.lower()]
        check(not errors, f"host down: no error logged for the broker's own cancellation ({errors[:3]})")
        if failures:
            print("     the second broker's log:\n" + "\n".join("     | " + l for l in text.splitlines()[-30:]), flush=True)
        subprocess.run(["rm", "-rf", work])


def main():
    if not os.path.exists(LIBVIRTD_PID):
        raise SystemExit(f"faults: {LIBVIRTD_PID} is missing: the tier restarts only a libvirtd that scripts/libvirtd started")
    token = token_of(USER, PASSWORD)
    admin = token_of(ADMIN, ADMIN_PASSWORD)
    desktop_id = desktop_for(token)
    print(f"     the user's desktop: {desktop_id}", flush=True)
    restart_under_requests(token, admin, desktop_id)
    freeze(token, admin, desktop_id)
    console_survives_restart(token, admin, desktop_id)
    killed_qemu(token, admin, desktop_id)
    start_with_host_down()
    # The broker under test is still connected and serving.
    took = wait_connected(time.monotonic())
    check(took is not None, "the tier's broker is connected at the end")
    print(f"faults: {len(failures)} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
