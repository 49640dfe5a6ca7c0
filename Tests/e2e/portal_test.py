#!/usr/bin/env python3
"""The portal end to end, in headless Chromium (Selenium), against a running broker.

A user logs in through the form, sees their pool on "My desktops", clicks Connect, waits
while the page says "preparing" (it re-submits by itself), receives a .vv download, and a
real remote-viewer (on the X display $DISPLAY, Xvfb started by scripts/e2e) opens it through
the SPICE gateway: its --debug output must show the main and display channels up. The user
opens the same desktop in the browser ("Open in browser": noVNC through the gateway's
WebSocket relay): the page's canvas, read with tesseract, shows the guest's DESKPOOL-GUEST line,
and a command typed into the page runs on the guest's console shell and its output appears.
The user logs the desktop off and logs out. The pool's kiosk page (/kiosk/POOL) logs in, opens
the desktop full window, and goes back to the login page when an admin logs the session off.
An admin logs in: the admin pools page shows the capacity
the API reports, the pool page lists the pool's desktops, the pool's usage page draws (SVG) the
sessions the usage API reports for the same hours, and a non-admin gets 403 on /admin.

Environment (scripts/e2e sets it):
  DESKPOOL_URL                    the broker, e.g. http://127.0.0.1:8080
  E2E_POOL                        a pool whose desktops boot on qemu:///system
  E2E_USER, E2E_PASSWORD          a pam_unix account entitled to E2E_POOL, not an admin
  E2E_ADMIN, E2E_ADMIN_PASSWORD   an account in the admin group
  DISPLAY                         an X display for remote-viewer
  E2E_ARTIFACTS                   where a failing step leaves its screenshot, page and logs
  E2E_CONNECT_SECONDS             how long Connect may take to give a .vv (default 420)

  --screenshots DIR               also write login.png, desktops.png, admin-pools.png and
                                  admin-pool.png (1280x800) to DIR (docs/screenshots)

Exits 0 when every step passed; prints one line per step.
"""

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from api_client import request
from chromium import CHROMEDRIVER, CHROMIUM, ChromiumPage, Failure, step_reporter

REMOTE_VIEWER = "/usr/bin/remote-viewer"

# remote-viewer --debug lines that mean the console really opened (see
# Tests/DeskpoolSystemTests/ConsoleQemuTests.swift; a wrong ticket prints "auth failure").
# "Starting proxy connection" (GLib's debug output) shows it used the .vv's proxy= (the gateway).
VIEWER_SUCCESS = ["Starting proxy connection", "main channel: opened", "SpiceDisplayChannel", "creating spice display"]
VIEWER_FAILURE = ["auth failure", "Failed to connect", "Unable to connect"]

TESSERACT = "/usr/bin/tesseract"


def ocr(png_path):
    """The text tesseract reads on a console picture (psm 6: one block, like a console)."""
    return subprocess.run([TESSERACT, png_path, "stdout", "--psm", "6", "quiet"], capture_output=True, text=True,
                          timeout=60).stdout


def normalized(text):
    return "".join("-" if c in "\u2014\u2013" else c for c in text if not c.isspace())


def distance_in(pattern, text):
    """The fewest edits that turn pattern into some substring of text (Sellers' algorithm)."""
    column = list(range(len(pattern) + 1))
    best = column[-1]
    for character in text:
        diagonal, column[0] = column[0], 0
        for i in range(1, len(pattern) + 1):
            substitution = diagonal + (pattern[i - 1] != character)
            diagonal = column[i]
            column[i] = min(substitution, column[i] + 1, column[i - 1] + 1)
        best = min(best, column[-1])
    return best


def relay_status(port, token, display_port, origin, host="127.0.0.1"):
    """The status the gateway answers a browser console's WebSocket upgrade with (raw socket)."""
    import socket
    query = "&".join(part for part in [f"token={token}" if token else "", f"port={display_port}"] if part)
    head = (f"GET /console?{query} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=15) as connection:
        connection.sendall(head.encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else line


# Glyphs tesseract takes for one another on a console font scaled into a canvas (seen in CI:
# "dpeZe-54f 5cOd?-pO01" for "dpe2e-54f5c0d7-p01"): folded alike on both sides of a comparison.
CONFUSABLE = str.maketrans({"O": "0", "o": "0", "Q": "0", "Z": "2", "z": "2", "I": "1", "l": "1", "|": "1",
                            "S": "5", "B": "8", "?": "7"})


def screen_shows(screen, text):
    """Whether a line of the OCR output shows text, allowing one misread letter per 12 and
    glyphs tesseract confuses (as Sources/DeskpoolTestRigs/ScreenOCR.swift does for the Swift
    tiers)."""
    wanted = normalized(text).translate(CONFUSABLE)
    allowed = max(1, len(wanted) // 12)
    return any(distance_in(wanted, normalized(line).translate(CONFUSABLE)) <= allowed for line in screen.splitlines())


def log(message):
    print(f"portal: {message}", flush=True)


class Portal(ChromiumPage):
    """The portal in Chromium (chromium.ChromiumPage) with what this test adds: downloads
    into a folder of its own (the .vv), the screenshots for the documentation, the API with the
    browser's session cookie, the browser console (OCR of its canvas) and remote-viewer."""

    def __init__(self, args):
        super().__init__(args.url, args.artifacts, log, "deskpool-portal-")
        self.base = urllib.parse.urlsplit(self.url)
        self.pool = args.pool
        self.screenshots = args.screenshots
        self.connect_seconds = args.connect_seconds
        self.downloads = os.path.join(self.work, "downloads")
        os.makedirs(self.downloads)
        os.makedirs(self.artifacts, exist_ok=True)
        if self.screenshots:
            os.makedirs(self.screenshots, exist_ok=True)
        self.viewer = None

    # -- the browser ------------------------------------------------------------------------

    def options(self):
        options = super().options()
        options.add_experimental_option("prefs", {
            "download.default_directory": self.downloads,
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        })
        return options

    def start(self):
        super().start()
        # application/x-virt-viewer lands in the folder without a prompt.
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": self.downloads})

    def stop(self):
        self.stop_viewer()
        super().stop()

    def screenshot(self, name):
        if self.screenshots:
            self.driver.save_screenshot(os.path.join(self.screenshots, name))

    def session_cookie(self):
        cookie = self.driver.get_cookie("deskpool_session")
        if not cookie:
            raise Failure(f"no deskpool_session cookie after login; cookies: {[c['name'] for c in self.driver.get_cookies()]}")
        return cookie["value"]

    def login(self, user, password, expect_success=True):
        form = self.fill_login(user, password)
        form.find_element(By.CSS_SELECTOR, "button#login-submit").click()
        if expect_success:
            self.wait_for(f"/desktops after logging in as {user} (alert: {self.safe_alert()})",
                          lambda: self.path() == "/desktops", timeout=30)
        else:
            self.wait_for("an element with role=alert after a failed login",
                          lambda: self.alert_text(), timeout=30)

    def safe_alert(self):
        try:
            return self.alert_text() or "none"
        except Exception:
            return "?"

    # -- the API, with the browser's session cookie -------------------------------------------

    def request(self, path, cookie=None, method="GET", accept="application/json"):
        """Returns (status, headers with lower-case names, body bytes); redirects are not
        followed."""
        headers = {"Accept": accept}
        if cookie:
            headers["Cookie"] = f"deskpool_session={cookie}"
        return request(self.base, method, path, headers=headers)

    def api(self, path, cookie):
        status, _, body = self.request(path, cookie)
        if status != 200:
            raise Failure(f"GET {path} answered {status}: {body[:300]!r}")
        return json.loads(body)

    def bearer(self, user, password):
        """An API token for user (POST /api/v1/auth/login)."""
        status, _, body = request(self.base, "POST", "/api/v1/auth/login", {"user": user, "password": password})
        if status != 200:
            raise Failure(f"POST /api/v1/auth/login as {user} answered {status}: {body[:200]!r}")
        return json.loads(body)["token"]

    def delete(self, path, token):
        status, _, body = request(self.base, "DELETE", path, token=token)
        return status, body

    # -- the browser console ----------------------------------------------------------------------

    def console_status(self):
        with contextlib.suppress(WebDriverException):
            return self.driver.execute_script(
                "var s = document.getElementById('console-status'); return s ? s.textContent : null;")
        return None

    def wait_for_console(self, timeout=None):
        """Waits (through 'preparing' pages) for the console page to say Connected."""
        deadline = time.monotonic() + (timeout or self.connect_seconds)
        last_note = 0
        while time.monotonic() < deadline:
            status = self.console_status()
            if status == "Connected":
                return
            if status and status not in ("Connecting…",):
                raise Failure(f"the console page says {status!r}")
            with contextlib.suppress(WebDriverException):
                alert = " / ".join(a.text.strip() for a in self.find_all('[role="alert"]') if a.is_displayed())
                if alert and not self.find_all("#preparing"):
                    raise Failure(f"the request answered with an alert: {alert}")
            if time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                log(f"  waiting for the console ({int(deadline - time.monotonic())} s left, page {self.path()})")
            time.sleep(0.5)
        raise Failure(f"the console page did not connect within the time (page {self.path()}, status {self.console_status()!r})")

    def console_text(self, name):
        """OCR of the console canvas as the page shows it; the picture stays in the artifacts."""
        canvas = self.find("#screen canvas")
        path = os.path.join(self.artifacts, name)
        canvas.screenshot(path)
        return ocr(path)

    def wait_for_screen(self, what, text, name, timeout=120):
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.console_text(name)
            if screen_shows(screen, text):
                return screen
            time.sleep(2)
        raise Failure(f"{what}: {text!r} is not on the console (OCR read:\n{screen[-1500:]})")

    # -- the viewer -----------------------------------------------------------------------------

    def start_viewer(self, vv_path):
        self.viewer_log = os.path.join(self.artifacts, "remote-viewer.log")
        environment = dict(os.environ, G_MESSAGES_DEBUG="all", NO_AT_BRIDGE="1")
        with open(self.viewer_log, "wb") as output:
            self.viewer = subprocess.Popen([REMOTE_VIEWER, "--debug", vv_path], stdout=output,
                                           stderr=subprocess.STDOUT, env=environment,
                                           start_new_session=True)

    def viewer_output(self):
        with open(self.viewer_log, encoding="utf-8", errors="replace") as file:
            return file.read()

    def stop_viewer(self):
        """SIGTERM, then SIGKILL after a grace period (remote-viewer may ignore SIGTERM)."""
        if not self.viewer or self.viewer.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.viewer.pid, signal.SIGTERM)
        try:
            self.viewer.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.viewer.pid, signal.SIGKILL)
            self.viewer.wait(timeout=10)

    # -- the steps --------------------------------------------------------------------------------

    def downloaded_vv(self):
        names = [n for n in os.listdir(self.downloads)
                 if not n.startswith(".org.chromium.") and not n.endswith(".crdownload")]
        return [os.path.join(self.downloads, n) for n in names]

    def connect(self):
        """Clicks Connect and waits for the .vv download; returns its path and whether the
        page said 'preparing' on the way."""
        section = self.find(f'section.pool[data-pool="{self.pool}"]')
        button = section.find_element(By.CSS_SELECTOR, "form.connect button")
        button.click()
        saw_preparing = False
        deadline = time.monotonic() + self.connect_seconds
        last_note = 0
        while time.monotonic() < deadline:
            files = self.downloaded_vv()
            if files:
                time.sleep(0.3)  # let Chromium finish its rename
                files = self.downloaded_vv()
                return files[0], saw_preparing
            try:
                if self.find_all("#preparing"):
                    if not saw_preparing:
                        log(f"  the page says preparing: {self.find('#preparing').text.strip()[:120]!r}")
                    saw_preparing = True
                alert = " / ".join(a.text.strip() for a in self.find_all('[role="alert"]')
                                   if a.is_displayed() and not self.find_all('#preparing [role="alert"]'))
                if alert:
                    raise Failure(f"Connect answered with an alert: {alert}")
            except WebDriverException:
                pass  # the page is being replaced by its own re-submission
            if time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                log(f"  waiting for the .vv ({int(deadline - time.monotonic())} s left, page {self.path()})")
            time.sleep(0.5)
        raise Failure(f"no .vv download within {self.connect_seconds} s of Connect (preparing shown: {saw_preparing}; page {self.path()})")


def parse_vv(text):
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "[virt-viewer]":
        raise Failure(f"the .vv does not start with [virt-viewer]: {text[:200]!r}")
    entries = {}
    for line in lines[1:]:
        key, _, value = line.partition("=")
        entries[key.strip()] = value.strip()
    return entries


def run(portal, args):
    steps, step = step_reporter(portal, log)

    with step("Chromium starts"):
        portal.start()

    with step("/login has the login form"):
        portal.open("/login")
        portal.wait_for("form#login-form", lambda: portal.find("form#login-form"))
        for css in ['input#user[name="user"]', 'input#password[name="password"]', "button#login-submit"]:
            portal.find(css)
        portal.screenshot("login.png")

    with step("a wrong password shows an alert and stays on /login"):
        portal.login(args.user, args.password + "-wrong", expect_success=False)
        if portal.path() == "/desktops":
            raise Failure("a wrong password led to /desktops")
        # The login throttle asks the next attempt for this user to wait a second.
        time.sleep(2.5)

    with step(f"{args.user} logs in through the form and lands on My desktops"):
        portal.login(args.user, args.password)
        section = portal.wait_for(f'section.pool[data-pool="{portal.pool}"]',
                                  lambda: portal.find(f'section.pool[data-pool="{portal.pool}"]'))
        log(f"  pool state: {section.find_element(By.CSS_SELECTOR, '.pool-state').text.strip()!r}")
        if portal.find_all("a#nav-admin"):
            raise Failure("a non-admin sees the admin link a#nav-admin")
        portal.find("form#logout button")
        user_cookie = portal.session_cookie()

    with step("a non-admin gets 403 on /admin and on the admin API"):
        for path in ["/admin", "/admin/pools/" + portal.pool, "/api/v1/admin/pools"]:
            status, _, _ = portal.request(path, user_cookie, accept="text/html" if not path.startswith("/api") else "application/json")
            if status != 403:
                raise Failure(f"GET {path} as {args.user} answered {status}, not 403")

    with step("Connect gives a .vv download (after 'preparing' if no desktop was ready)"):
        vv_path, saw_preparing = portal.connect()
        with open(vv_path, encoding="utf-8") as file:
            vv_text = file.read()
        shutil.copy(vv_path, os.path.join(portal.artifacts, "portal.vv"))
        log(f"  got {os.path.basename(vv_path)} ({len(vv_text)} bytes){' after preparing' if saw_preparing else ''}")

    with step("the .vv is a SPICE connection file through the gateway, with a password"):
        entries = parse_vv(vv_text)
        if entries.get("type") != "spice":
            raise Failure(f"type is {entries.get('type')!r}, not spice")
        if not entries.get("password"):
            raise Failure("no password= in the .vv")
        if not entries.get("proxy", "").startswith("http://"):
            raise Failure(f"no proxy=http://... (the gateway) in the .vv: {entries.get('proxy')!r}")
        for key in ["host", "port"]:
            if not entries.get(key):
                raise Failure(f"no {key}= in the .vv")

    with step("the API lists the session, and the page shows it"):
        sessions = portal.api("/api/v1/sessions", user_cookie)
        mine = [s for s in sessions if s.get("pool") == portal.pool]
        if len(mine) != 1:
            raise Failure(f"GET /api/v1/sessions: expected one desktop of {portal.pool}: {sessions}")
        desktop = mine[0]
        portal.open("/desktops")
        portal.wait_for(f'li.session[data-desktop="{desktop["id"]}"]',
                        lambda: portal.find(f'li.session[data-desktop="{desktop["id"]}"]'))
        log(f"  desktop {desktop['name']} ({desktop['id']}) on {desktop.get('host')}, state {desktop.get('state')}")

    with step("remote-viewer opens the console through the gateway"):
        viewer_file = os.path.join(portal.work, "console.vv")  # remote-viewer deletes it (delete-this-file)
        shutil.copy(vv_path, viewer_file)
        portal.start_viewer(viewer_file)
        deadline = time.monotonic() + 90
        while True:
            output = portal.viewer_output()
            bad = [marker for marker in VIEWER_FAILURE if marker in output]
            if bad:
                raise Failure(f"remote-viewer printed {bad}; its log is {portal.viewer_log}:\n{output[-2000:]}")
            if all(marker in output for marker in VIEWER_SUCCESS):
                break
            if portal.viewer.poll() is not None:
                raise Failure(f"remote-viewer exited {portal.viewer.returncode}:\n{output[-2000:]}")
            if time.monotonic() > deadline:
                missing = [marker for marker in VIEWER_SUCCESS if marker not in output]
                raise Failure(f"remote-viewer did not print {missing} within 90 s:\n{output[-2000:]}")
            time.sleep(0.3)

    with step("the session becomes connected"):
        def connected():
            listed = [s for s in portal.api("/api/v1/sessions", user_cookie) if s.get("id") == desktop["id"]]
            return listed and listed[0].get("state") == "connected"
        portal.wait_for(f"desktop {desktop['id']} to be connected (graphics events)", connected, timeout=45, interval=1)
        portal.open("/desktops")
        portal.wait_for("the session on the page", lambda: portal.find(f'li.session[data-desktop="{desktop["id"]}"]'))
        portal.screenshot("desktops.png")
        portal.stop_viewer()

        def disconnected():
            listed = [s for s in portal.api("/api/v1/sessions", user_cookie) if s.get("id") == desktop["id"]]
            return listed and listed[0].get("state") == "disconnected"
        portal.wait_for(f"desktop {desktop['id']} disconnected once remote-viewer left", disconnected, timeout=45, interval=1)

    with step("Open in browser shows the desktop's console: noVNC through the gateway's WebSocket relay"):
        portal.open("/desktops")
        section = portal.wait_for(f'section.pool[data-pool="{portal.pool}"]',
                                  lambda: portal.find(f'section.pool[data-pool="{portal.pool}"]'))
        section.find_element(By.CSS_SELECTOR, "form.browser button").click()
        portal.wait_for_console()
        if portal.path() != f"/desktops/{portal.pool}/browser":
            raise Failure(f"the console page is {portal.path()}")
        screen = portal.wait_for_screen("the guest's name line", f"DESKPOOL-GUEST name={desktop['name']}", "browser-console.png")
        log(f"  the canvas shows: {[line for line in screen.splitlines() if 'GUEST' in line.upper()][:1]}")
        portal.screenshot("browser-console.png")

    with step("keys typed in the page reach the guest's shell, and its output appears on the canvas"):
        canvas = portal.find("#screen canvas")
        canvas.click()
        ActionChains(portal.driver).send_keys("echo typed-$((6*7))").send_keys(Keys.ENTER).perform()
        portal.wait_for_screen("the typed command's output", "typed-42", "browser-typed.png", timeout=60)

    with step("the browser console counts as the session's connection"):
        def connected():
            listed = [s for s in portal.api("/api/v1/sessions", user_cookie) if s.get("id") == desktop["id"]]
            return listed and listed[0].get("state") == "connected"
        portal.wait_for(f"desktop {desktop['id']} to be connected through the browser", connected, timeout=45, interval=1)

    with step("the relay refuses a wrong Origin, no token, a forged token and the SPICE port"):
        screen = portal.find("#screen")
        relay = {key: screen.get_attribute(f"data-{key}") for key in ["relay-host", "relay-port", "token", "port"]}
        if screen.get_attribute("data-password"):
            raise Failure("the console page keeps the password in the page after noVNC took it")
        origin = portal.url
        checks = [
            ("a page of another site", relay_status(relay["relay-port"], relay["token"], relay["port"], "http://evil.example.org"), 403),
            ("no token", relay_status(relay["relay-port"], None, relay["port"], origin), 400),
            ("a forged token", relay_status(relay["relay-port"], "a" * 52, relay["port"], origin), 403),
            ("the desktop's SPICE port", relay_status(relay["relay-port"], relay["token"], entries["port"], origin), 403),
        ]
        wrong = [f"{what}: {got} (not {expected})" for what, got, expected in checks if got != expected]
        if wrong:
            raise Failure("; ".join(wrong))
        if not connected():
            raise Failure("a refused upgrade disturbed the open browser console")
        portal.open("/desktops")
        portal.wait_for("My desktops again", lambda: portal.find(f'li.session[data-desktop="{desktop["id"]}"]'))

    with step("Log off ends the session"):
        session = portal.find(f'li.session[data-desktop="{desktop["id"]}"]')
        session.find_element(By.CSS_SELECTOR, "form.logoff button").click()
        portal.wait_for("the session to leave the page",
                        lambda: portal.path() == "/desktops" and not portal.find_all(f'li.session[data-desktop="{desktop["id"]}"]'),
                        timeout=60)
        remaining = [s for s in portal.api("/api/v1/sessions", user_cookie) if s.get("id") == desktop["id"]]
        if remaining:
            raise Failure(f"GET /api/v1/sessions still lists the desktop: {remaining}")
        status = relay_status(relay["relay-port"], relay["token"], relay["port"], portal.url)
        if status != 403:
            raise Failure(f"the browser console's token still opens the relay after logoff: {status}")

    with step("Log out ends the portal session"):
        portal.find("form#logout button").click()
        portal.wait_for("/login after logging out", lambda: portal.path() == "/login")
        status, headers, _ = portal.request("/desktops", user_cookie, accept="text/html")
        if status not in (302, 303, 401) or (status in (302, 303) and "/login" not in headers.get("location", "")):
            raise Failure(f"GET /desktops with the old session answered {status} {headers.get('location')}, not a redirect to /login")
        status, _, _ = portal.request("/api/v1/sessions", user_cookie)
        if status != 401:
            raise Failure(f"GET /api/v1/sessions with the old session answered {status}, not 401")

    with step("the kiosk page logs in and opens the desktop full window"):
        portal.open(f"/kiosk/{portal.pool}")
        portal.wait_for("/login for the kiosk", lambda: portal.path() == "/login")
        form = portal.find("form#login-form")
        form.find_element(By.CSS_SELECTOR, "input#user").send_keys(args.user)
        form.find_element(By.CSS_SELECTOR, "input#password").send_keys(args.password)
        form.find_element(By.CSS_SELECTOR, "button#login-submit").click()
        portal.wait_for_console()
        if not portal.find_all("body.is-kiosk") or portal.find_all("#console-back"):
            raise Failure("the kiosk page is not in kiosk mode (body.is-kiosk, no link back to My desktops)")
        kiosk_cookie = portal.session_cookie()
        held = [s for s in portal.api("/api/v1/sessions", kiosk_cookie) if s.get("pool") == portal.pool]
        if len(held) != 1:
            raise Failure(f"the kiosk user holds {held}")
        portal.wait_for_screen("the kiosk's guest", f"DESKPOOL-GUEST name={held[0]['name']}", "kiosk-console.png")

    with step("an admin's logoff closes the kiosk console and the page goes back to the login"):
        token = portal.bearer(args.admin, args.admin_password)
        status, body = portal.delete(f"/api/v1/admin/sessions/{held[0]['id']}", token)
        if status != 200:
            raise Failure(f"DELETE /api/v1/admin/sessions/{held[0]['id']} answered {status}: {body[:200]!r}")
        portal.wait_for("the kiosk back at its login page",
                        lambda: portal.path() == "/login"
                        and f"next=/kiosk/{portal.pool}" in urllib.parse.unquote(portal.driver.current_url),
                        timeout=60)
        log(f"  back at {portal.driver.current_url}")

    with step(f"{args.admin} logs in and follows the admin link"):
        portal.login(args.admin, args.admin_password)
        portal.find("a#nav-admin").click()
        portal.wait_for("/admin", lambda: portal.path() == "/admin")
        portal.wait_for("table#pools", lambda: portal.find("table#pools"))
        admin_cookie = portal.session_cookie()

    with step("the admin pools page shows the capacity the API reports"):
        keys = ["total", "ready", "assigned", "connected", "disconnected", "provisioning", "failed"]
        last = None
        for _ in range(20):  # the reconciler may change the pool between the page and the API
            portal.open("/admin")
            capacity = portal.find(f'table#pools tr[data-pool="{portal.pool}"] .capacity')
            shown = {key: capacity.get_attribute(f"data-{key}") for key in keys}
            pools = portal.api("/api/v1/admin/pools", admin_cookie)
            pool = next((p for p in pools if (p.get("name") or p.get("spec", {}).get("name")) == portal.pool), None)
            if pool is None:
                raise Failure(f"GET /api/v1/admin/pools does not list {portal.pool}")
            reported = {key: str(pool["capacity"][key]) for key in keys}
            if shown == reported:
                break
            last = (shown, reported)
            time.sleep(1.5)
        else:
            raise Failure(f"the page's capacity differs from the API's: page {last[0]}, API {last[1]}")
        log(f"  capacity {reported}")
        portal.screenshot("admin-pools.png")

    with step("the admin pool page lists the pool's desktops"):
        for _ in range(20):
            portal.open(f"/admin/pools/{portal.pool}")
            shown = {row.get_attribute("data-desktop") for row in portal.find_all("table#desktops tr[data-desktop]")}
            reported = {d["id"] for d in portal.api(f"/api/v1/admin/desktops?pool={portal.pool}", admin_cookie)}
            if shown == reported and shown:
                break
            time.sleep(1.5)
        else:
            raise Failure(f"table#desktops shows {sorted(shown)}, the API {sorted(reported)}")
        portal.screenshot("admin-pool.png")

    with step("the pool's usage page charts the sessions the usage API reports for the same hours"):
        link = portal.find("a#usage-charts-link").get_attribute("href")
        if urllib.parse.urlsplit(link).path != f"/admin/pools/{portal.pool}/usage":
            raise Failure(f"the pool page's usage link goes to {link}")
        portal.open(f"/admin/pools/{portal.pool}/usage?days=1")
        period = portal.wait_for("div#usage-period", lambda: portal.find("div#usage-period"))
        start, end, bucket = (period.get_attribute(f"data-{key}") for key in ["from", "to", "bucket"])
        if not start or not end or bucket != "hour":
            raise Failure(f"div#usage-period has from={start!r} to={end!r} bucket={bucket!r}, not a period by hour")
        chart = portal.find("section#sessions-chart svg")
        if chart.get_attribute("role") != "img" or not chart.get_attribute("aria-label"):
            raise Failure("the sessions chart is not an image with a name (role=img, aria-label)")

        def instant(text):
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))

        # The page's period to the second, so the API sums the same sessions into the same hours.
        shown = {instant(c.get_attribute("data-start")): float(c.get_attribute("data-value"))
                 for c in portal.find_all('section#sessions-chart circle[data-series="sessions"]')}
        query = urllib.parse.urlencode({"pool": portal.pool, "from": start, "to": end, "bucket": "hour"})
        reported = {instant(b["start"]): float(b["peakSessions"])
                    for b in portal.api(f"/api/v1/admin/usage?{query}", admin_cookie)["buckets"]}
        if shown != reported:
            differ = sorted(set(shown.items()) ^ set(reported.items()))
            raise Failure(f"the chart's sessions differ from the API's peakSessions ({len(shown)} points, {len(reported)} hours): "
                          f"{[(t.isoformat(), v) for t, v in differ][:10]}")
        if max(reported.values(), default=0) < 1:
            raise Failure(f"no hour of the last day had a session of {portal.pool}, though {args.user} had some: the chart is empty")
        busiest = max(reported, key=reported.get)
        log(f"  {len(shown)} hours; the most at once {reported[busiest]:.0f} at {busiest.isoformat()}")

    with step("/admin/hosts, /admin/templates and /admin/audit answer"):
        for path in ["/admin/hosts", "/admin/templates", "/admin/audit"]:
            status, _, body = portal.request(path, admin_cookie, accept="text/html")
            if status != 200:
                raise Failure(f"GET {path} as admin answered {status}: {body[:200]!r}")

    with step("the Rollouts link opens /admin/rollouts, and /admin/policies has the policy form"):
        portal.find(".admin-nav a[href='/admin/rollouts']").click()
        portal.wait_for("/admin/rollouts", lambda: portal.path() == "/admin/rollouts")
        if portal.find("h1").text.strip() != "Rollouts":
            raise Failure(f"/admin/rollouts has the heading {portal.find('h1').text!r}")
        portal.open("/admin/policies")
        portal.find("form#policy-form textarea#source")
        portal.find("form#logout button").click()
        portal.wait_for("/login after the admin logs out", lambda: portal.path() == "/login")

    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("DESKPOOL_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--pool", default=os.environ.get("E2E_POOL"))
    parser.add_argument("--user", default=os.environ.get("E2E_USER"))
    parser.add_argument("--password", default=os.environ.get("E2E_PASSWORD"))
    parser.add_argument("--admin", default=os.environ.get("E2E_ADMIN"))
    parser.add_argument("--admin-password", default=os.environ.get("E2E_ADMIN_PASSWORD"))
    parser.add_argument("--screenshots", help="write login/desktops/admin-pools/admin-pool.png here")
    parser.add_argument("--artifacts", default=os.environ.get("E2E_ARTIFACTS") or tempfile.mkdtemp(prefix="deskpool-portal-artifacts-"))
    parser.add_argument("--connect-seconds", type=int, default=int(os.environ.get("E2E_CONNECT_SECONDS", "420")))
    args = parser.parse_args()
    missing = [name for name in ["pool", "user", "password", "admin", "admin_password"] if not getattr(args, name)]
    if missing:
        parser.error("missing " + ", ".join(missing) + " (options or E2E_* variables)")
    if not os.environ.get("DISPLAY"):
        parser.error("DISPLAY is not set: remote-viewer needs an X display (scripts/e2e starts Xvfb)")
    for tool in [CHROMIUM, CHROMEDRIVER, REMOTE_VIEWER, TESSERACT]:
        if not os.access(tool, os.X_OK):
            parser.error(f"{tool} is missing (scripts/setup-host installs it)")

    portal = Portal(args)
    started = time.monotonic()
    try:
        steps = run(portal, args)
    except Exception:
        log(f"failed after {time.monotonic() - started:.0f} s; artifacts in {portal.artifacts}")
        return 1
    finally:
        portal.stop()
    log(f"all {len(steps)} steps passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
