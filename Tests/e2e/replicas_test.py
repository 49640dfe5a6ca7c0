"""The replicas tier: three `deskpool serve` processes on one PostgreSQL database, on
qemu:///system with real guests and pam_unix users (scripts/e2e runs it as `replicas`, as
root, with the cluster scripts/postgres started; DESKPOOL_TEST_POSTGRES names it).

1. The work is shared: each of the host, the pools and the rollouts is run by one replica,
   every replica is alive in `GET /api/v1/admin/replicas`, the host's owner is in
   `GET /api/v1/admin/hosts` and `deskpool hosts`, and each replica's /metrics says what it
   holds.
2. A pool of E2E_REPLICA_DESKTOPS ready desktops (default 20) and max two more. One user opens
   a console (remote-viewer) through a replica that does not drive the host; the other
   E2E_REPLICA_REQUESTS - 1 users (default 50 in all) ask at once, spread over the three
   replicas: the ready desktops go to as many distinct users, two more are being prepared,
   the rest are refused (409 exhausted), and no desktop is handed out twice.
3. Then `kill -9` of the replica that drives the host while the two new desktops boot:
   another replica holds the host within the lease time plus one reconcile interval, the
   console stays connected and its viewer runs, the pool converges (every desktop assigned to its user, nothing
   failed or half-made, no domain without a record and no record without a domain).
   The killed replica, started again under its name, rejoins and takes a share of the work.
4. PostgreSQL restarted, down longer than a store call's timeout, while requests stream in:
   every answer is a 200/202 or a 503 with Retry-After (nothing else, no 5xx), /readyz is 503
   while it is down and 200 again after, every login answered 200 and every assignment made
   before is still there.
5. `kill -9` of the host's owner during a rollout (an UpdatePolicy, one desktop at a time, on
   a small pool of its own template): the host is taken over within the same time, the
   rollout completes, every desktop of the pool is ready on the new version, no orphan.

Environment (set by scripts/e2e): DESKPOOL_BIN, E2E_STATE (the e2e broker's configuration is
the model), E2E_GROUP, E2E_ADMIN/E2E_ADMIN_PASSWORD, E2E_IMAGE, DISPLAY;
DESKPOOL_TEST_POSTGRES and DESKPOOL_TEST_POSTGRES_PASSWORD_FILE (scripts/test). It makes and
removes its own database, storage pool, domains, users and state directories.
"""

import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import yaml

import api_client
from api_client import request
from common import check, failures, free_port

BIN = os.environ["DESKPOOL_BIN"]
STATE = os.environ["E2E_STATE"]
GROUP = os.environ["E2E_GROUP"]
ADMIN, ADMIN_PASSWORD = os.environ["E2E_ADMIN"], os.environ["E2E_ADMIN_PASSWORD"]
DESKTOPS = int(os.environ.get("E2E_REPLICA_DESKTOPS", "20"))
REQUESTS = int(os.environ.get("E2E_REPLICA_REQUESTS", "50"))
ROLL_DESKTOPS = 3
LEASE_SECONDS = 5
SWEEP_SECONDS = 2
URI = "qemu:///system"
PG = urllib.parse.urlsplit(os.environ.get("DESKPOOL_TEST_POSTGRES", ""))
PG_PASSWORD_FILE = os.environ.get("DESKPOOL_TEST_POSTGRES_PASSWORD_FILE", "")


def login(base, user, password):
    return api_client.login(base, user, password, who="replicas")


def get_json(base, path, token):
    status, _, body = request(base, "GET", path, token=token)
    return json.loads(body) if status == 200 else None


def psql(sql, database="postgres"):
    env = dict(os.environ, PGPASSWORD=open(PG_PASSWORD_FILE).read().strip())
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG.hostname, "-p", str(PG.port or 5432), "-U", PG.username,
                    "-d", database, "-c", sql], check=True, env=env, capture_output=True)


def virsh(*arguments, check_result=False):
    return subprocess.run(["virsh", "-q", "-c", URI, *arguments], capture_output=True, text=True, check=check_result).stdout


class Replica:
    def __init__(self, name, config_path, work):
        self.name = name
        self.config_path = config_path
        with open(config_path) as f:
            config = yaml.safe_load(f)
        self.base = urllib.parse.urlsplit(f"http://127.0.0.1:{config['http']['port']}")
        self.log_path = os.path.join(work, f"{name}.log")
        self.process = None

    def start(self):
        log = open(self.log_path, "w")
        self.process = subprocess.Popen([BIN, "serve", "--config", self.config_path], stdout=log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(what, limit, condition, poll=0.5):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    check(False, f"{what} within {limit} s")
    return None


def pool_desktops(base, admin, pool):
    return get_json(base, f"/api/v1/admin/desktops?pool={pool}", admin) or []


def lease_metrics(base):
    status, _, body = request(base, "GET", "/metrics")
    held = {}
    for line in body.decode().splitlines() if status == 200 else []:
        if line.startswith("deskpool_lease_held{"):
            name, value = line.rsplit(" ", 1)
            held[name.split('lease="', 1)[1].split('"', 1)[0]] = float(value)
    return held


def main():
    if not PG.hostname or not PG_PASSWORD_FILE:
        if os.environ.get("CI"):
            print("FAIL no PostgreSQL: DESKPOOL_TEST_POSTGRES is not set (scripts/test starts the cluster)")
            return 1
        print("SKIPPED: no PostgreSQL (DESKPOOL_TEST_POSTGRES is not set; scripts/postgres start)")
        return 0
    with open(os.path.join(STATE, "deskpool.yaml")) as f:
        model = yaml.safe_load(f)
    token = secrets.token_hex(3)
    instance = model["broker"]["instance"] + "-rep"
    database = f"dprep_{token}"
    work = tempfile.mkdtemp(prefix="deskpool-replicas-", dir="/var/tmp")
    os.chmod(work, 0o711)  # qemu (libvirt-qemu) reaches the images below it
    images = os.path.join(work, "images")
    os.mkdir(images, 0o711)
    storage_pool = instance + "-pool"
    users = [f"dprep-{token}-{n:02d}" for n in range(REQUESTS)]
    password = secrets.token_urlsafe(12)
    replicas = []
    viewer = None
    try:
        psql(f"CREATE DATABASE {database}")
        virsh("pool-define-as", storage_pool, "dir", "--target", images, check_result=True)
        virsh("pool-build", storage_pool, check_result=True)
        virsh("pool-start", storage_pool, check_result=True)
        for user in users:
            subprocess.run(["useradd", "--no-create-home", "--no-user-group", "--gid", GROUP, "--shell", "/usr/sbin/nologin", user], check=True)
        subprocess.run(["chpasswd"], input="".join(f"{u}:{password}\n" for u in users), text=True, check=True)

        url = f"postgres://{PG.username}@{PG.hostname}:{PG.port or 5432}/{database}"
        for n in (1, 2, 3):
            name = f"r{n}"
            config = json.loads(json.dumps(model))
            state = os.path.join(work, name)
            os.mkdir(state, 0o700)
            config["stateDirectory"] = state
            config["http"]["port"] = free_port()
            config["gateway"]["port"] = free_port()
            config["broker"].update({"instance": instance, "replica": name, "leaseSeconds": LEASE_SECONDS, "sweepIntervalSeconds": SWEEP_SECONDS,
                                     "orphanGraceSeconds": 30})
            config["hosts"][0]["storagePool"] = storage_pool
            config["hosts"][0]["storagePath"] = images
            config["images"] = {"importDirectory": os.path.join(state, "import")}
            config["store"] = {"url": url, "passwordFile": PG_PASSWORD_FILE}
            path = os.path.join(work, f"{name}.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(config, f)
            replicas.append(Replica(name, path, work))

        # The template and the pool, through the first replica's configuration (the shared store).
        local = [BIN, "local"]
        template_dir = os.path.join(work, "tiny-linux")
        shutil.copytree("templates/tiny-linux", template_dir)
        subprocess.run(["sed", "-i", "s/^bootTimeoutSeconds:.*/bootTimeoutSeconds: 600/", os.path.join(template_dir, "template.yaml")], check=True)
        pool = "reppool"
        pool_file = os.path.join(work, "pool.yaml")
        with open(pool_file, "w") as f:
            yaml.safe_dump({"name": pool, "template": "tiny-linux", "assignment": "floating", "min": 0, "max": DESKTOPS + 2,
                            "spare": DESKTOPS, "naming": instance + "-{n:02}", "groups": [GROUP], "maxPerUser": 1}, f)
        # A small pool of its own template for the rollout (part 5).
        roll_template_dir = os.path.join(work, "tiny-roll")
        shutil.copytree(template_dir, roll_template_dir)
        roll_pool = "reproll"
        roll_pool_file = os.path.join(work, "roll-pool.yaml")
        with open(roll_pool_file, "w") as f:
            yaml.safe_dump({"name": roll_pool, "template": "tiny-roll", "assignment": "floating", "min": 0, "max": ROLL_DESKTOPS,
                            "spare": ROLL_DESKTOPS, "naming": instance + "-r{n:02}", "groups": [GROUP]}, f)
        for arguments in (["template", "apply", template_dir], ["template", "publish", "tiny-linux", "--file", os.environ["E2E_IMAGE"],
                                                               "--note", "replicas tier"], ["pool", "apply", pool_file],
                          ["template", "apply", roll_template_dir], ["template", "publish", "tiny-roll", "--file", os.environ["E2E_IMAGE"],
                                                                     "--note", "replicas tier"], ["pool", "apply", roll_pool_file]):
            subprocess.run(local + arguments + ["--config", replicas[0].config_path], check=True, capture_output=True)

        for replica in replicas:
            replica.start()
        for replica in replicas:
            wait_for(f"{replica.name} answers /healthz", 90, lambda: request(replica.base, "GET", "/healthz")[0] == 200)
        admin = login(replicas[0].base, ADMIN, ADMIN_PASSWORD)
        started = time.monotonic()
        wait_for(f"{DESKTOPS} + {ROLL_DESKTOPS} ready desktops", 900,
                 lambda: len([d for d in pool_desktops(replicas[0].base, admin, pool) if d["state"] == "ready"]) >= DESKTOPS
                 and len([d for d in pool_desktops(replicas[0].base, admin, roll_pool) if d["state"] == "ready"]) >= ROLL_DESKTOPS, poll=2)
        print(f"     {DESKTOPS} desktops ready after {time.monotonic() - started:.0f} s", flush=True)

        # 1. The work is shared.
        view = wait_for("every replica alive and every piece of work owned", 30, lambda: (
            (v := get_json(replicas[1].base, "/api/v1/admin/replicas", admin)) and len(v["replicas"]) == 3
            and all(w.get("owner") for w in v["work"]) and v))
        if view:
            owners = {w["work"]: w["owner"] for w in view["work"]}
            check(sorted(owners) == ["host/local", "pools", "rollouts"], f"the work: the host, the pools, the rollouts ({sorted(owners)})")
            check(len(set(owners.values())) == 3, f"three replicas, three pieces of work: one each ({owners})")
            check(view["replica"] == "r2", f"the answer names the replica that gave it ({view['replica']})")
            hosts = get_json(replicas[2].base, "/api/v1/admin/hosts", admin) or []
            check(hosts and hosts[0].get("owner") == owners["host/local"], f"the hosts API names the host's owner ({hosts and hosts[0].get('owner')})")
            # `deskpool hosts`, logged in through the third replica.
            env = dict(os.environ, DESKPOOL_CLIENT_CONFIG=os.path.join(work, "client.json"))
            subprocess.run([BIN, "login", "--server", f"http://127.0.0.1:{replicas[2].base.port}", "--user", ADMIN, "--password-stdin"],
                           input=ADMIN_PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
            table = subprocess.run([BIN, "hosts"], env=env, capture_output=True, text=True).stdout
            lines = table.splitlines()
            # The OWNER column, read at its header's position (the row's last cells may be empty).
            column = lines[0].find("OWNER") if lines else -1
            owner_cell = next((l[column:].split()[0] for l in lines[1:] if l.startswith("local ") and len(l) > column >= 0), None)
            check(owner_cell == owners["host/local"], f"deskpool hosts: an OWNER column naming the host's replica ({owner_cell!r}; {lines[:2]})")
            check(f"pools: {owners['pools']}    rollouts: {owners['rollouts']}" in table and "replicas alive: r1, r2, r3 (this answer from r3)" in table,
                  f"deskpool hosts: who runs the pools and rollouts, the replicas alive ({lines[-2:]})")
            for replica in replicas:
                held = {k for k, v in lease_metrics(replica.base).items() if v == 1}
                mine = {w for w, o in owners.items() if o == replica.name}
                check(held == mine, f"{replica.name}'s /metrics: deskpool_lease_held for what it runs ({sorted(held)}, owns {sorted(mine)})")

        # The pool is full now: nothing below min, and no spare refill once a user takes a
        # desktop (min the ready desktops, spare 0). Scaled before anyone takes one, so the
        # pool's last two places go to the users who ask, not to a refill the pools' holder
        # would start meanwhile (it did, when the scale came after the first console).
        check(len(pool_desktops(replicas[0].base, admin, pool)) == DESKTOPS, f"the pool holds its {DESKTOPS} spares, no more")
        status, _, body = request(replicas[0].base, "POST", f"/api/v1/admin/pools/{pool}/scale", {"min": DESKTOPS, "spare": 0}, token=admin)
        check(status == 200, f"the pool scaled to min {DESKTOPS}, spare 0 ({status} {body[:120]!r})")
        time.sleep(SWEEP_SECONDS + 1)  # a reconcile pass begun on the old sizes has ended

        # A console through a replica that will survive (not the host's owner): remote-viewer.
        owners = {w["work"]: w.get("owner") for w in (get_json(replicas[0].base, "/api/v1/admin/replicas", admin) or {"work": []})["work"]}
        victim = next(r for r in replicas if r.name == owners.get("host/local"))
        survivors = [r for r in replicas if r is not victim]
        tokens = {}
        for index, user in enumerate(users):
            tokens[user] = login(replicas[index % 3].base, user, password)
        console_user = users[0]
        status, headers, vv = request(survivors[0].base, "POST", f"/api/v1/pools/{pool}/desktop", token=tokens[console_user])
        desktop_id = headers.get("deskpool-desktop")
        check(status == 200 and desktop_id, f"{console_user} gets a console through {survivors[0].name} ({status})")
        vv_path = os.path.join(work, "desktop.vv")
        with open(vv_path, "wb") as f:
            f.write(vv)
        viewer = subprocess.Popen(["remote-viewer", vv_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for("the console connected", 90, lambda: next((d["state"] for d in pool_desktops(survivors[0].base, admin, pool) if d["id"] == desktop_id), "") == "connected")
        check(len(pool_desktops(replicas[0].base, admin, pool)) == DESKTOPS, "no refill: min is met and spare is 0")

        # 2. Everyone else at once, spread over the three, on the ready desktops left.
        others = users[1:]
        ready = DESKTOPS - 1
        barrier = threading.Barrier(len(others))

        def ask(index_user):
            index, user = index_user
            base = replicas[index % 3].base
            barrier.wait()
            status, headers, body = request(base, "POST", f"/api/v1/pools/{pool}/desktop", token=tokens[user], timeout=120)
            desktop = headers.get("deskpool-desktop")
            if status == 202:
                try:
                    desktop = json.loads(body)["desktop"]["id"]
                except (ValueError, KeyError):
                    pass
            return user, status, desktop, body[:160]

        with concurrent.futures.ThreadPoolExecutor(len(others)) as executor:
            answers = list(executor.map(ask, enumerate(others)))
        consoles = [(u, d) for u, s, d, _ in answers if s == 200]
        preparing = [(u, d) for u, s, d, _ in answers if s == 202]
        refused = [(u, s, b) for u, s, _, b in answers if s not in (200, 202)]
        check(len(consoles) == ready, f"{len(others)} requests at once on {ready} ready desktops: {ready} consoles at once ({len(consoles)})")
        handed = [d for _, d in consoles + preparing] + [desktop_id]
        check(len(set(handed)) == len(handed), "no desktop handed out twice")
        check(len(preparing) == 2, f"two more being prepared, up to the pool's max ({len(preparing)})")
        check(all(s == 409 and b"exhausted" in b for _, s, b in refused) and len(refused) == len(others) - ready - 2,
              f"the rest refused: 409 exhausted ({[(s, b[:60]) for _, s, b in refused[:3]]})")
        assigned = {d["id"]: d.get("user") for d in pool_desktops(replicas[0].base, admin, pool) if d.get("user")}
        check(all(assigned.get(d) == u for u, d in consoles + preparing + [(console_user, desktop_id)]), "each desktop handed out is its user's in the store")
        check(len(set(assigned.values())) == len(assigned), "no user holds two desktops")

        # 3. kill -9 of the host's owner while the two new desktops boot.
        booting = [d for d in pool_desktops(survivors[0].base, admin, pool) if d["state"] in ("provisioning", "starting")]
        check(len(booting) > 0, f"the refill is under way when the host's owner is killed ({len(booting)} booting)")
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        killed = time.monotonic()
        taken = wait_for("another replica holds the host", 30, lambda: (
            (v := get_json(survivors[0].base, "/api/v1/admin/replicas", admin)) and
            next((w.get("owner") for w in v["work"] if w["work"] == "host/local"), None) in {r.name for r in survivors}), poll=0.2)
        took = time.monotonic() - killed
        check(taken and took <= LEASE_SECONDS + SWEEP_SECONDS + 1, f"host taken over {took:.1f} s after the kill (lease {LEASE_SECONDS} s + reconcile {SWEEP_SECONDS} s)")
        view = get_json(survivors[1].base, "/api/v1/admin/replicas", admin) or {"work": [], "replicas": []}
        wait_for("the dead replica gone from the replicas alive", 15, lambda: victim.name not in (get_json(survivors[1].base, "/api/v1/admin/replicas", admin) or {"replicas": [victim.name]})["replicas"])
        view = get_json(survivors[1].base, "/api/v1/admin/replicas", admin) or {"work": []}
        check(all(w.get("owner") in {r.name for r in survivors} for w in view["work"]), f"all the work with the survivors ({view['work']})")

        def converged():
            desktops = pool_desktops(survivors[1].base, admin, pool)
            return len(desktops) == DESKTOPS + 2 and all(d["state"] in ("assigned", "connected") for d in desktops) and desktops

        desktops = wait_for("the pool converges: every desktop its user's, nothing half-made", 600, converged, poll=2)
        if desktops:
            after = {d["id"]: d.get("user") for d in desktops}
            check(all(after.get(i) == u for i, u in assigned.items()), "every assignment made before the kill is kept")
            names = {d["name"] for d in desktops + pool_desktops(survivors[1].base, admin, roll_pool)}
            domains = {n for n in virsh("list", "--all", "--name").split() if n.startswith(instance + "-")}
            check(domains == names, f"every domain has its record and every record its domain ({sorted(domains ^ names)})")
        time.sleep(3)
        state = next((d["state"] for d in pool_desktops(survivors[0].base, admin, pool) if d["id"] == desktop_id), "")
        check(state == "connected", f"the console through {survivors[0].name}'s gateway is still connected ({state})")
        check(viewer.poll() is None, "its remote-viewer still runs")

        # The killed replica started again under its name: it rejoins and takes its share.
        victim.start()
        wait_for(f"{victim.name} answers /healthz again", 90, lambda: request(victim.base, "GET", "/healthz")[0] == 200)
        rejoined = wait_for(f"{victim.name} alive again and running a share of the work", 30, lambda: (
            (v := get_json(victim.base, "/api/v1/admin/replicas", admin)) and len(v["replicas"]) == 3
            and victim.name in {w.get("owner") for w in v["work"]} and v))
        check(bool(rejoined), f"the restarted {victim.name} rejoins and takes a share ({rejoined and rejoined['work']})")

        # 4. PostgreSQL restarted under a stream of requests, down longer than a store call's
        # timeout (10 s): requests meet the outage, not only wait it out.
        stop = threading.Event()
        seen = []
        logins = []  # tokens of logins answered 200 (each a committed write)
        streamers = [u for u, _ in consoles][:4]

        def stream(replica, user):
            while not stop.is_set():
                status, headers, body = request(replica.base, "POST", f"/api/v1/pools/{pool}/desktop", token=tokens[user], timeout=30)
                seen.append((status, headers.get("retry-after"), body[:100]))
                status, headers, body = request(replica.base, "POST", "/api/v1/auth/login", {"user": user, "password": password}, timeout=30)
                seen.append((status, headers.get("retry-after"), body[:100]))
                if status == 200:
                    logins.append((replica, json.loads(body)["token"]))
                time.sleep(0.1)

        threads = [threading.Thread(target=stream, args=(r, u)) for r, u in zip(survivors * 2, streamers)]
        check(len(threads) >= 2, f"users stream requests ({len(threads)})")
        for thread in threads:
            thread.start()
        time.sleep(2)
        subprocess.run(["pg_ctlcluster", "15", "main", "stop", "-m", "fast"], check=True)
        down = wait_for("/readyz 503 while PostgreSQL is down", 20, lambda: request(survivors[0].base, "GET", "/readyz")[0] == 503, poll=0.3)
        time.sleep(12)
        subprocess.run(["pg_ctlcluster", "15", "main", "start", "-o", f"-c listen_addresses={PG.hostname} -p {PG.port or 5432}"], check=True)
        back = time.monotonic()
        ready = wait_for("/readyz 200 again on every replica", 60, lambda: all(request(r.base, "GET", "/readyz")[0] == 200 for r in replicas if r.alive()))
        print(f"     ready {time.monotonic() - back:.1f} s after PostgreSQL answered again", flush=True)
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join()
        bad = [(s, b) for s, r, b in seen if not (s in (200, 202) or (s == 503 and r))]
        check(down and ready, "not ready while the store is down, ready again by itself")
        check(not bad, f"{len(seen)} answers while PostgreSQL restarted: only 200/202 and 503 with Retry-After ({bad[:3]})")
        check(any(s == 503 for s, _, _ in seen), f"requests met the outage: 503 ({sum(1 for s, _, _ in seen if s == 503)})")
        lost = [t for r, t in logins if request(survivors[0].base, "GET", "/api/v1/auth/me", token=t)[0] != 200]
        check(logins and not lost, f"every login answered 200 ({len(logins)}) is still valid after the restart ({len(lost)} lost)")
        after = {d["id"]: d.get("user") for d in pool_desktops(survivors[0].base, admin, pool)}
        check(all(after.get(i) == u for i, u in assigned.items()), "no committed assignment lost in the restart")

        # 5. kill -9 of the host's owner during a rollout (an UpdatePolicy on the small pool,
        # one desktop at a time): the rollout is carried on by the others and completes.
        subprocess.run(local + ["template", "publish", "tiny-roll", "--file", os.environ["E2E_IMAGE"], "--note", "v2",
                                "--config", replicas[0].config_path], check=True, capture_output=True)
        policy = "\n".join([
            "apiVersion: deskpool/v1", "kind: UpdatePolicy", "metadata: {name: replicas-update}", "spec:",
            f"  selector: {{pools: [{roll_pool}]}}", "  version: latest",
            "  strategy: {canary: 1, waveSize: 1, maxUnavailable: 1, failureThreshold: 1, healthGate: {timeout: 5m}}", ""])
        live = [r for r in replicas if r.alive()]
        status, _, body = request(live[0].base, "POST", "/api/v1/admin/rollouts", {"source": policy, "file": "replicas-update.yaml"}, token=admin)
        check(status == 201, f"the rollout starts ({status} {body[:160]!r})")
        rollout_id = json.loads(body)["rollout"]["id"] if status == 201 else None
        rollout_path = f"/api/v1/admin/rollouts/{rollout_id}"
        wait_for("the rollout has changed a desktop", 300, lambda: any(
            i["status"] in ("inProgress", "done") for i in (get_json(live[0].base, rollout_path, admin) or {"items": []})["items"]), poll=0.5)
        owners = {w["work"]: w.get("owner") for w in (get_json(live[0].base, "/api/v1/admin/replicas", admin) or {"work": []})["work"]}
        second = next(r for r in live if r.name == owners.get("host/local"))
        left = [r for r in live if r is not second]
        progress = get_json(left[0].base, rollout_path, admin) or {"items": []}
        check(any(i["status"] != "done" for i in progress["items"]), f"the rollout is under way when the host's owner ({second.name}) is killed")
        second.process.send_signal(signal.SIGKILL)
        second.process.wait()
        killed = time.monotonic()
        taken = wait_for("the host taken over again", 30, lambda: next((w.get("owner") for w in (get_json(left[0].base, "/api/v1/admin/replicas", admin) or {"work": []})["work"]
                                                                     if w["work"] == "host/local"), None) in {r.name for r in left}, poll=0.2)
        took = time.monotonic() - killed
        check(taken and took <= LEASE_SECONDS + SWEEP_SECONDS + 1, f"during the rollout: host taken over {took:.1f} s after the kill")
        done = wait_for("the rollout completes", 600, lambda: (
            (r := get_json(left[0].base, rollout_path, admin)) and r["rollout"]["state"] in ("completed", "halted", "rolledBack", "cancelled") and r), poll=2)
        check(done and done["rollout"]["state"] == "completed", f"the rollout completes after the kill ({done and done['rollout']['state']}: {done and done['counts']})")
        roll = pool_desktops(left[0].base, admin, roll_pool)
        check(len(roll) == ROLL_DESKTOPS and all(d["state"] == "ready" and d["version"] == 2 for d in roll),
              f"every desktop of the rolled pool ready on version 2 ({[(d['name'], d['state'], d['version']) for d in roll]})")
        names = {d["name"] for d in roll + pool_desktops(left[0].base, admin, pool)}
        domains = {n for n in virsh("list", "--all", "--name").split() if n.startswith(instance + "-")}
        check(domains == names, f"after the rollout: every domain has its record and every record its domain ({sorted(domains ^ names)})")
        for replica in left:
            check(replica.alive(), f"{replica.name} still runs")
    finally:
        if viewer is not None:
            viewer.kill()
            viewer.wait()
        for replica in replicas:
            replica.stop()
        if failures:
            for replica in replicas:
                if os.path.exists(replica.log_path):
                    with open(replica.log_path) as f:
                        lines = f.read().splitlines()[-25:]
                    print(f"     {replica.name}'s log:\n" + "\n".join("     | " + line for line in lines), flush=True)
        for name in virsh("list", "--all", "--name").split():
            if name.startswith(instance + "-"):
                virsh("destroy", name)
                virsh("undefine", name, "--nvram")
        for _ in range(2):  # clones, then their base volumes
            for line in virsh("vol-list", storage_pool).splitlines():
                if line.split():
                    virsh("vol-delete", line.split()[0], "--pool", storage_pool)
        virsh("pool-destroy", storage_pool)
        virsh("pool-undefine", storage_pool)
        for user in users:
            subprocess.run(["userdel", user], capture_output=True)
        try:
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        except subprocess.CalledProcessError as error:
            print(f"     cannot drop {database}: {error.stderr}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"replicas: {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
