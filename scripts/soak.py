"""The soak run's driver (scripts/soak starts it with the environment of `scripts/e2e --hold`).

Two brokers: the e2e one on qemu:///system (real desktops) and one it starts on the libvirt
test driver. Users cycle request (the .vv: a console ticket) and logoff against both; every
interval it prints each broker's RSS, open descriptors, libvirt connections and store size.
"""

import argparse
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Tests", "e2e"))
import api_client  # noqa: E402  (the e2e tier's API helpers)


def request(base, method, path, body=None, token=None, timeout=60):
    return api_client.request(base, method, path, body=body, token=token, timeout=timeout)


def login(base, user, password):
    return api_client.login(base, user, password, who="soak")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, name, base, pid, state):
        self.name, self.base, self.pid, self.state = name, base, pid, state
        self.cycles = 0
        self.errors = 0
        self.exhausted = 0
        self.lock = threading.Lock()

    def sample(self):
        with open(f"/proc/{self.pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) // 1024
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        libvirt = libvirt_connections(self.pid)
        store = sum(os.path.getsize(os.path.join(self.state, f"deskpool.sqlite{suffix}"))
                    for suffix in ("", "-wal", "-shm") if os.path.exists(os.path.join(self.state, f"deskpool.sqlite{suffix}")))
        return {"rss": rss, "fds": fds, "libvirt": libvirt, "store": store // 1024}


def libvirt_connections(pid):
    """The process's Unix sockets whose peer is a connection accepted on libvirtd's socket
    (`ss -xpn`: a client end shows only the peer's inode; the daemon's end shows the path)."""
    daemon_ends = set()
    mine = []
    for line in subprocess.run(["ss", "-xpn"], capture_output=True, text=True).stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        local_path, local_inode, peer_inode = fields[4], fields[5], fields[7]
        if local_path.startswith("/run/libvirt/libvirt-sock") or local_path.startswith("/var/run/libvirt/libvirt-sock"):
            daemon_ends.add(local_inode)
        if f"pid={pid}," in line:
            mine.append(peer_inode)
    return sum(1 for peer in mine if peer in daemon_ends)


def cycle(broker, user, password, pool, until):
    """Request (until the .vv comes; on the test driver, until the desktop is the user's),
    then logoff, until `until`."""
    token = login(broker.base, user, password)
    while time.monotonic() < until:
        status, headers, body = request(broker.base, "POST", f"/api/v1/pools/{pool}/desktop", token=token)
        if status == 202 or status == 503:
            time.sleep(min(5, int(headers.get("retry-after", "2"))))
            continue
        if status == 409 and b'"exhausted"' in body:
            # Every desktop of the pool is being refreshed: a normal answer; ask again.
            with broker.lock:
                broker.exhausted += 1
            time.sleep(2)
            continue
        if status == 401:
            token = login(broker.base, user, password)
            continue
        if status == 502 and broker.name == "test":
            # The test driver gives domains no SPICE port: the desktop is the user's, its
            # console ticket cannot be set. Log off what the user holds.
            _, _, sessions = request(broker.base, "GET", "/api/v1/sessions", token=token)
            held = [d["id"] for d in json.loads(sessions)] if sessions.startswith(b"[") else []
            desktop = held[0] if held else None
        elif status == 200:
            desktop = headers.get("deskpool-desktop")
        else:
            desktop = None
        if desktop is None:
            with broker.lock:
                broker.errors += 1
            time.sleep(1)
            continue
        status, _, _ = request(broker.base, "DELETE", f"/api/v1/sessions/{desktop}", token=token)
        with broker.lock:
            if status == 200:
                broker.cycles += 1
            else:
                broker.errors += 1


def start_test_broker(work):
    """A `deskpool serve` on the test driver, set up through its API; returns (Broker, process)."""
    with open(os.path.join(os.environ["E2E_STATE"], "deskpool.yaml")) as f:
        config = yaml.safe_load(f)
    state = os.path.join(work, "state")
    os.mkdir(state, 0o700)
    config["stateDirectory"] = state
    config["http"]["port"] = free_port()
    config["gateway"]["port"] = free_port()
    config["broker"]["instance"] = config["broker"]["instance"] + "-soak"
    config["images"] = {"importDirectory": os.path.join(state, "import")}
    node = os.path.join(REPO, "Tests/Fixtures/test-node.xml")
    config["hosts"] = [{"name": "testhost", "uri": f"test://{node}", "storagePool": "images", "storagePath": "/var/lib/deskpool-test/images"}]
    path = os.path.join(work, "deskpool.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    log = open(os.path.join(work, "serve.log"), "w")
    process = subprocess.Popen([os.environ["DESKPOOL_BIN"], "serve", "--config", path], stdout=log, stderr=subprocess.STDOUT)
    base = urllib.parse.urlsplit(f"http://127.0.0.1:{config['http']['port']}")
    deadline = time.monotonic() + 60
    while request(base, "GET", "/healthz", timeout=5)[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("soak: the test-driver broker did not start; see " + os.path.join(work, "serve.log"))
        time.sleep(0.3)
    admin = login(base, os.environ["E2E_ADMIN"], os.environ["E2E_ADMIN_PASSWORD"])
    with open(os.path.join(REPO, "templates/tiny-linux/domain.xml")) as f:
        xml = f.read()
    steps = [
        ("PUT", "/api/v1/admin/templates/soak-tiny", {"domainXML": xml, "memoryMiB": 256, "bootTimeoutSeconds": 60}),
        ("POST", "/api/v1/admin/templates/soak-tiny/versions", {"volume": "golden-1.qcow2", "note": "soak"}),
        ("POST", "/api/v1/admin/pools", {"name": "soak", "template": "soak-tiny", "max": 20, "spare": 5, "naming": "soak-{n:03}",
                                         "groups": [os.environ["E2E_GROUP"]], "maxPerUser": 1}),
    ]
    for method, route, body in steps:
        status, _, answer = request(base, method, route, body, token=admin)
        if status not in (200, 201):
            process.terminate()
            process.wait(30)
            raise SystemExit(f"soak: {method} {route}: {status} {answer[:300]!r}")
    return Broker("test", base, process.pid, state), process


def real_broker():
    state = os.environ["E2E_STATE"]
    needle = f"{state}/deskpool.yaml"
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                arguments = f.read().split(b"\0")
        except OSError:
            continue
        if b"serve" in arguments and needle.encode() in arguments:
            return Broker("real", urllib.parse.urlsplit(os.environ["DESKPOOL_URL"]), int(pid), state)
    raise SystemExit("soak: the e2e broker's process was not found")


def main():
    # SIGTERM (scripts/soak stopped) ends the run through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--interval", type=float, default=60)
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="deskpool-soak-", dir="/var/tmp")
    os.chmod(work, 0o700)
    real = real_broker()
    test, process = start_test_broker(work)
    brokers = [real, test]
    began = time.monotonic()
    until = began + options.minutes * 60
    users = [(os.environ["E2E_USER"], os.environ["E2E_PASSWORD"]), (os.environ["E2E_ADMIN"], os.environ["E2E_ADMIN_PASSWORD"])]
    workers = [threading.Thread(target=cycle, args=(real, *users[0], os.environ["E2E_POOL"], until), daemon=True)]
    workers += [threading.Thread(target=cycle, args=(test, user, password, "soak", until), daemon=True) for user, password in users]
    for worker in workers:
        worker.start()
    samples = {broker.name: [] for broker in brokers}
    print(f"soak: {options.minutes:g} min, a sample every {options.interval:g} s; real = qemu:///system (pid {real.pid}), test = test driver (pid {test.pid})", flush=True)
    print(f"{'min':>6} {'broker':6} {'RSS MiB':>8} {'fds':>5} {'libvirt':>7} {'store KiB':>9} {'cycles':>7} {'errors':>6}", flush=True)
    try:
        while True:
            now = time.monotonic()
            for broker in brokers:
                sample = broker.sample()
                samples[broker.name].append(sample)
                print(f"{(now - began) / 60:6.1f} {broker.name:6} {sample['rss']:8} {sample['fds']:5} {sample['libvirt']:7} {sample['store']:9} "
                      f"{broker.cycles:7} {broker.errors:6}", flush=True)
            if now >= until:
                break
            time.sleep(max(0, min(options.interval, until - time.monotonic())))
        for worker in workers:
            worker.join(120)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        subprocess.run(["rm", "-rf", work])
    flat = True
    for broker in brokers:
        series = samples[broker.name]
        middle, last = series[len(series) // 2], series[-1]
        for key in ("rss", "fds"):
            growth = (last[key] - middle[key]) * 100 / max(1, middle[key])
            verdict = "flat" if growth < 5 else "GROWS"
            flat = flat and growth < 5
            print(f"soak: {broker.name} {key}: {middle[key]} -> {last[key]} over the second half ({growth:+.1f} %, {verdict})", flush=True)
        print(f"soak: {broker.name}: {broker.cycles} request/logoff cycles, {broker.errors} errors, {broker.exhausted} 'pool exhausted' answers", flush=True)
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
