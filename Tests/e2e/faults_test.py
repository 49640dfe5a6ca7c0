"""The fault tier: what production hosts do to a running `deskpool serve` (scripts/e2e runs it
as `faults`, as root, on qemu:///system with real guests and pam_unix users).

1. libvirtd restarted under a stream of requests: every answer comes within 10 s and is a
   200/202 or a 503 `hypervisorUnavailable` with Retry-After (the one documented retry);
   the host is connected again within 5 s of libvirtd answering; the user keeps exactly one
   desktop, no desktop has two users, nothing was failed; a request after it opens the
   console again.
2. libvirtd frozen (SIGSTOP) for 10 s: no request hangs past the keepalive (about 8 s), the
   host is connected within 5 s of SIGCONT, service resumes.
3. A second broker started while libvirtd is stopped: it starts, /healthz says `connecting`,
   /readyz is 503, the hosts API says why; once libvirtd answers it is connected within 5 s
   and ready. SIGTERM stops it within 10 s.

It restarts the libvirtd that scripts/libvirtd started (pid file in /run/deskpool-rig), never
another one. Environment (set by scripts/e2e): DESKPOOL_URL, DESKPOOL_BIN, E2E_USER/
E2E_PASSWORD, E2E_ADMIN/E2E_ADMIN_PASSWORD, E2E_POOL, E2E_STATE.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import yaml

URL = urllib.parse.urlsplit(os.environ["DESKPOOL_URL"])
BIN = os.environ["DESKPOOL_BIN"]
STATE = os.environ["E2E_STATE"]
POOL = os.environ["E2E_POOL"]
USER, PASSWORD = os.environ["E2E_USER"], os.environ["E2E_PASSWORD"]
ADMIN, ADMIN_PASSWORD = os.environ["E2E_ADMIN"], os.environ["E2E_ADMIN_PASSWORD"]
RIG = os.environ.get("DESKPOOL_RIG_DIR", "/run/deskpool-rig")
LIBVIRTD_PID = os.path.join(RIG, "libvirtd.pid")

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def request(method, path, body=None, token=None, base=URL, timeout=30):
    """One request on a fresh connection: (status, headers, body, seconds); status 0 on a
    connection error or timeout."""
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=timeout)
    headers = {"Authorization": "Bearer " + token} if token else {}
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.monotonic() - started
    except (OSError, http.client.HTTPException) as error:
        return 0, {}, str(error).encode(), time.monotonic() - started
    finally:
        connection.close()


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
    check_stream(stream, "freeze", longest=12)
    check(desktop_for(token, limit=60) == desktop_id, "freeze: after it, the user's request opens the same desktop")
    check_assignments(admin, desktop_id, "freeze")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_with_host_down():
    print("== a broker started while libvirtd is stopped", flush=True)
    with open(os.path.join(STATE, "deskpool.yaml")) as f:
        config = yaml.safe_load(f)
    work = tempfile.mkdtemp(prefix="deskpool-faults-", dir="/var/tmp")
    os.chmod(work, 0o700)
    config["stateDirectory"] = work
    config["http"]["port"] = free_port()
    config["gateway"]["port"] = free_port()
    config["broker"]["instance"] = config["broker"]["instance"] + "-late"
    config["broker"]["orphanGraceSeconds"] = 86400  # it shares the storage pool: never clean it
    config["images"] = {"importDirectory": os.path.join(work, "import")}
    path = os.path.join(work, "deskpool.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    base = urllib.parse.urlsplit(f"http://127.0.0.1:{config['http']['port']}")
    log = open(os.path.join(work, "serve.log"), "w")
    stop_libvirtd()
    process = None
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
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline:
            status, _, _, _ = request("GET", "/readyz", base=base)
            if status == 200:
                break
            time.sleep(0.3)
        check(status == 200, f"host down: /readyz turns 200 once the host is connected ({status})")

        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        stopped = time.monotonic() - asked
        check(process.poll() is not None and stopped < 10, f"host down: SIGTERM stops the broker within 10 s ({stopped:.1f} s)")
    finally:
        if process and process.poll() is None:
            process.kill()
            process.wait()
        if not libvirtd_answers():
            start_libvirtd()
        log.close()
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
    start_with_host_down()
    # The broker under test is still connected and serving.
    took = wait_connected(time.monotonic())
    check(took is not None, "the tier's broker is connected at the end")
    print(f"faults: {len(failures)} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
