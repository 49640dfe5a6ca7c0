#!/usr/bin/env python3
"""Login conversations end to end: the broker's real PAM stack (pam_unix, then pam_oath for
the OTP group) through the API and the portal in headless Chromium (scripts/e2e runs it as
`pam`).

API: the OTP user's password is answered by a challenge for a one-time code (one masked
prompt); a valid code (oathtool, through Tests/e2e/next-code) logs in, and the challenge is
then spent; the same code again (a replay) and a wrong code are refused like a wrong password,
and a refused challenge is spent too. Expiry: a second, short-lived broker of this test's own
(a copy of the e2e configuration with authentication.challengeSeconds 10, on libvirt's
test:///default, its own store) refuses a valid code given after its challenge expired.
Portal: the challenge page masks the code field and labels it with pam_oath's prompt; a
wrong code goes back to the login form with an alert; a fresh code reaches My desktops. An
expired password (chage -d 0) is changed through the prompt pages (answered by their labels);
the new password then logs in without a challenge and the old one fails. A pool with a
further factor (its own PAM service with pam_oath) refuses a desktop (403 factorRequired)
until the login passed that service; the plain user, who has no OTP secret, cannot pass it.
Last, neither the broker's log nor the audit holds any password or code this test used.

Environment (scripts/e2e sets it): DESKPOOL_URL, DESKPOOL_BIN, E2E_ADMIN, E2E_ADMIN_PASSWORD,
E2E_USER, E2E_PASSWORD (no OTP secret), E2E_OTP_USER, E2E_OTP_PASSWORD, E2E_OTP_SECRET (hex),
E2E_OTP_STATE (next-code's last step), E2E_RENEW_USER, E2E_RENEW_PASSWORD (expired),
E2E_FACTOR_SERVICE, E2E_TEMPLATE, E2E_GROUP, E2E_NAME_PREFIX, E2E_STATE (the broker's state
directory and serve.log), E2E_ARTIFACTS (a failing step's screenshot and page, the short
broker's log).

Exits 0 when every step passed; prints one line per step.
"""

import contextlib
import datetime
import hmac
import json
import os
import re
import secrets
import shutil
import string
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml
from selenium.common.exceptions import StaleElementReferenceException

from api_client import request
from chromium import CHROMEDRIVER, CHROMIUM, ChromiumPage, Failure, step_reporter
from common import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT_CODE = os.path.join(HERE, "next-code")

URL = urllib.parse.urlsplit(os.environ.get("DESKPOOL_URL", "http://127.0.0.1:8080"))
BIN = os.environ.get("DESKPOOL_BIN", ".build/debug/deskpool")
STATE = os.environ.get("E2E_STATE", "")
ARTIFACTS = os.environ.get("E2E_ARTIFACTS") or tempfile.mkdtemp(prefix="deskpool-pam-artifacts-")
ADMIN, ADMIN_PASSWORD = os.environ.get("E2E_ADMIN"), os.environ.get("E2E_ADMIN_PASSWORD")
USER, PASSWORD = os.environ.get("E2E_USER"), os.environ.get("E2E_PASSWORD")
OTP_USER, OTP_PASSWORD = os.environ.get("E2E_OTP_USER"), os.environ.get("E2E_OTP_PASSWORD")
OTP_SECRET, OTP_STATE = os.environ.get("E2E_OTP_SECRET"), os.environ.get("E2E_OTP_STATE")
RENEW_USER, RENEW_PASSWORD = os.environ.get("E2E_RENEW_USER"), os.environ.get("E2E_RENEW_PASSWORD")
FACTOR_SERVICE = os.environ.get("E2E_FACTOR_SERVICE")
TEMPLATE, GROUP = os.environ.get("E2E_TEMPLATE"), os.environ.get("E2E_GROUP")
PREFIX = os.environ.get("E2E_NAME_PREFIX", "e2e-")
REQUIRED = ["DESKPOOL_URL", "E2E_STATE", "E2E_ADMIN", "E2E_ADMIN_PASSWORD", "E2E_USER", "E2E_PASSWORD", "E2E_OTP_USER",
            "E2E_OTP_PASSWORD", "E2E_OTP_SECRET", "E2E_OTP_STATE", "E2E_RENEW_USER", "E2E_RENEW_PASSWORD", "E2E_FACTOR_SERVICE",
            "E2E_TEMPLATE", "E2E_GROUP", "E2E_NAME_PREFIX"]

# The short-lived broker's challenge lifetime (the configuration's minimum).
SHORT_CHALLENGE_SECONDS = 10


def log(message):
    print(f"pam: {message}", flush=True)


# -- what this test used, to look for afterwards ----------------------------------------------

class Secrets:
    """Every password and code this test sent, for the last step's search."""

    def __init__(self):
        self.passwords = {p for p in [OTP_PASSWORD, RENEW_PASSWORD] if p}
        self.codes = set()

    def code(self):
        """The next unused TOTP code (Tests/e2e/next-code), remembered."""
        result = subprocess.run([NEXT_CODE], capture_output=True, text=True, timeout=330)
        code = result.stdout.strip()
        if result.returncode != 0 or not re.fullmatch(r"[0-9]{6}", code):
            raise Failure(f"next-code exited {result.returncode}: {result.stdout!r} {result.stderr!r}")
        self.codes.add(code)
        return code


def totp(step):
    """The RFC 6238 code (HMAC-SHA1, 6 digits) of E2E_OTP_SECRET for a 30-second step."""
    digest = hmac.new(bytes.fromhex(OTP_SECRET), struct.pack(">Q", step), "sha1").digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def surely_wrong_code():
    """A code that no step near now (pam_oath's window of 10, and then some, both ways) has."""
    now = int(time.time()) // 30
    valid = {totp(step) for step in range(now - 40, now + 60)}
    code = 0
    while f"{code:06d}" in valid:
        code += 1
    return f"{code:06d}"


# -- the API ----------------------------------------------------------------------------------

def call(method, path, body=None, token=None, base=URL):
    """(status, headers, JSON body or raw bytes)."""
    status, headers, data = request(base, method, path, body=body, token=token)
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data
    return status, headers, parsed


def error_code(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def brief(body):
    return json.dumps(body)[:300] if isinstance(body, (dict, list)) else repr(body)[:300]


def unthrottled(method, path, body=None, token=None, base=URL):
    """A login step that starts a conversation: a 429 (the throttle's backoff after this test's
    own failures) is waited out as its Retry-After says, then asked again."""
    for _ in range(8):
        status, headers, answer = call(method, path, body, token, base)
        if status != 429:
            return status, headers, answer
        wait = min(35, int(headers.get("retry-after", "2")))
        log(f"  ({path}: throttled after earlier failures; waiting {wait} s)")
        time.sleep(wait + 0.3)
    raise Failure(f"{method} {path} stayed throttled")


def begin_login(user, password, base=URL):
    return unthrottled("POST", "/api/v1/auth/login", {"user": user, "password": password}, base=base)


def challenge_of(status, body, what):
    """The challenge of a 401 replyExpected answer; fails naming `what` otherwise."""
    if status != 401 or error_code(body) != "replyExpected" or not isinstance(body.get("challenge"), dict):
        raise Failure(f"{what}: expected 401 replyExpected with a challenge, got {status} {brief(body)}")
    return body["challenge"]


def answer(challenge_id, answers, base=URL):
    return call("POST", f"/api/v1/auth/login/{challenge_id}", {"answers": answers}, base=base)


def expect_refusal(status, body, code, what):
    if status != 401 or error_code(body) != code:
        raise Failure(f"{what}: expected 401 {code}, got {status} {brief(body)}")


def otp_token(secrets_, base=URL):
    """A login of the OTP user through the API: password, then a fresh code."""
    status, _, body = begin_login(OTP_USER, OTP_PASSWORD, base)
    challenge = challenge_of(status, body, f"login of {OTP_USER}")
    status, _, body = answer(challenge["id"], [secrets_.code()], base)
    if status != 200 or not body.get("token"):
        raise Failure(f"the code from next-code was refused: {status} {brief(body)}")
    return body["token"]


def plain_token(user, password):
    status, _, body = begin_login(user, password)
    if status != 200:
        raise Failure(f"login of {user}: expected 200 with no challenge, got {status} {brief(body)}")
    return body["token"]


def wait_unthrottled(admin, user):
    """Waits while the throttle backs `user` off (GET /api/v1/admin/login-locks): a portal
    login during the backoff would be answered by the throttle instead of PAM."""
    for _ in range(10):
        status, _, locks = call("GET", "/api/v1/admin/login-locks", token=admin)
        if status != 200:
            raise Failure(f"GET /api/v1/admin/login-locks answered {status} {brief(locks)}")
        now = datetime.datetime.now(datetime.timezone.utc)
        ends = [datetime.datetime.fromisoformat(lock["until"]) for lock in locks
                if lock.get("user") in (None, user) and lock.get("until")]
        wait = max([(end - now).total_seconds() for end in ends] + [0])
        if wait <= 0:
            return
        # `until` is given in whole seconds (truncated): wait a second more.
        log(f"  ({user} is backed off after this test's failures; waiting {wait + 1.2:.1f} s)")
        time.sleep(min(wait, 35) + 1.2)


# -- a broker of this test's own, for challenge expiry ----------------------------------------

class ShortBroker:
    """`deskpool serve` on a copy of the e2e configuration with challengeSeconds 10: the same
    PAM service, its own store, ports and instance, and libvirt's test:///default as its host
    (logins need no hypervisor); it logs at debug level."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="deskpool-pam-", dir="/var/tmp")
        self.process = None
        self.log_path = os.path.join(self.work, "serve.log")

    def start(self):
        with open(os.path.join(STATE, "deskpool.yaml")) as file:
            config = yaml.safe_load(file)
        state = os.path.join(self.work, "state")
        os.mkdir(state, 0o700)
        os.mkdir(os.path.join(self.work, "import"), 0o700)
        os.mkdir(os.path.join(self.work, "images"), 0o700)
        config["stateDirectory"] = state
        config["http"]["port"] = free_port()
        config["gateway"]["port"] = free_port()
        config["broker"]["instance"] = config["broker"]["instance"] + "-pam"
        config["images"] = {"importDirectory": os.path.join(self.work, "import")}
        config["hosts"] = [{"name": "local", "uri": "test:///default", "storagePool": "default-pool",
                            "storagePath": os.path.join(self.work, "images")}]
        config.setdefault("authentication", {})["challengeSeconds"] = SHORT_CHALLENGE_SECONDS
        path = os.path.join(self.work, "deskpool.yaml")
        with open(path, "w") as file:
            yaml.safe_dump(config, file)
        self.base = urllib.parse.urlsplit(f"http://127.0.0.1:{config['http']['port']}")
        # At debug level: the last step looks for passwords and codes in its log too.
        environment = dict(os.environ, DESKPOOL_LOG_LEVEL="debug")
        with open(self.log_path, "w") as log_file:
            self.process = subprocess.Popen([BIN, "serve", "--config", path], stdout=log_file, stderr=subprocess.STDOUT,
                                            env=environment)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"the short broker exited {self.process.returncode}: {self.log_tail()}")
            if request(self.base, "GET", "/healthz", timeout=2)[0] == 200:
                return
            time.sleep(0.3)
        raise Failure(f"the short broker did not answer /healthz within 60 s: {self.log_tail()}")

    def log_tail(self):
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as file:
            return file.read()[-1500:]
        return ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        with contextlib.suppress(OSError):
            shutil.copy(self.log_path, os.path.join(ARTIFACTS, "short-broker-serve.log"))
        shutil.rmtree(self.work, ignore_errors=True)


# -- the portal -------------------------------------------------------------------------------

class Portal(ChromiumPage):
    """The portal in Chromium, with the login conversation's pages (chromium.ChromiumPage)."""

    def __init__(self):
        super().__init__(URL.geturl(), ARTIFACTS, log, "deskpool-pam-portal-")

    def pam_messages(self):
        return [(li.get_attribute("class"), li.text.strip()) for li in self.find_all("ul.pam-messages li")]

    def submit(self, button_css):
        """Clicks a form's button and waits for the page it led to (the old one gone)."""
        old = self.find("html")
        self.find(button_css).click()

        def replaced():
            try:
                old.tag_name
                return False
            except StaleElementReferenceException:
                return True
        self.wait_for(f"the page after {button_css}", replaced)
        return self.page_kind()

    def page_kind(self):
        """challenge, continue (the PAM messages page), desktops, or login."""
        def kind():
            if self.find_all("form#challenge-form"):
                return "challenge"
            if self.find_all("a#login-continue"):
                return "continue"
            if self.path() == "/desktops":
                return "desktops"
            if self.find_all("form#login-form"):
                return "login"
            return None
        return self.wait_for("a login page, a challenge page or My desktops", kind)

    def login_form(self, user, password):
        self.fill_login(user, password)
        return self.submit("button#login-submit")

    def fields(self):
        """The challenge page's fields: (id, label, type) in order."""
        inputs = self.find_all("form#challenge-form input[id^='answer-']")
        return [(i.get_attribute("id"), self.find(f"label[for='{i.get_attribute('id')}']").text.strip(), i.get_attribute("type"))
                for i in inputs]

    def answer(self, answers):
        for (field_id, _, _), value in zip(self.fields(), answers):
            self.find(f"#{field_id}").send_keys(value)
        return self.submit("button#challenge-submit")

    def logout(self):
        self.submit("form#logout button")
        if self.path() != "/login":
            raise Failure(f"logging out led to {self.path()}, not /login")


def new_password():
    """A strong password that pam_unix's `obscure` cannot call similar to the old one: its
    random part avoids every character of the old password."""
    alphabet = [c for c in string.ascii_letters + string.digits if c not in RENEW_PASSWORD]
    return "Dp-" + "".join(secrets.choice(alphabet) for _ in range(16))


# -- the steps --------------------------------------------------------------------------------

def run(portal, short, cleanups):
    steps, step = step_reporter(portal, log)
    used = Secrets()

    admin = plain_token(ADMIN, ADMIN_PASSWORD)

    # -- a. the API ------------------------------------------------------------------------------

    with step(f"API: {OTP_USER}'s password is answered by a challenge with one masked prompt"):
        status, _, body = begin_login(OTP_USER, OTP_PASSWORD)
        challenge = challenge_of(status, body, f"login of {OTP_USER} with the right password")
        prompts = challenge.get("prompts") or []
        if len(prompts) != 1 or prompts[0].get("echo") is not False:
            raise Failure(f"expected one prompt with echo off (pam_oath's code), got {prompts}")
        otp_prompt = prompts[0]["text"]
        if "one-time password" not in otp_prompt.lower():
            raise Failure(f"the prompt is not pam_oath's: {otp_prompt!r}")
        if "token" in body:
            raise Failure(f"a challenge carries a session token: {brief(body)}")
        log(f"  prompt {otp_prompt!r}, expires {challenge.get('expiresAt')}")

    with step("API: a valid code logs in, and /api/v1/auth/me works with the token"):
        valid_code = used.code()
        with open(OTP_STATE) as file:
            step_used = int(file.read().strip())
        if totp(step_used) != valid_code:  # the wrong codes below are computed the same way
            raise Failure(f"next-code printed {valid_code} for step {step_used}; this test computes {totp(step_used)}")
        status, headers, body = answer(challenge["id"], [valid_code])
        if status != 200 or not body.get("token") or body.get("user") != OTP_USER:
            raise Failure(f"answering with a valid code: expected 200 with a token for {OTP_USER}, got {status} {brief(body)}")
        if "deskpool_session=" not in headers.get("set-cookie", ""):
            raise Failure(f"the login set no deskpool_session cookie: {headers.get('set-cookie')!r}")
        status, _, me = call("GET", "/api/v1/auth/me", token=body["token"])
        if status != 200 or me.get("user") != OTP_USER:
            raise Failure(f"GET /api/v1/auth/me with the new token: {status} {brief(me)}")
        log(f"  factors {me.get('factors')}")

    with step("API: the answered challenge is spent (answering it again: 401 challengeExpired)"):
        status, _, body = answer(challenge["id"], [valid_code])
        expect_refusal(status, body, "challengeExpired", "the same challenge answered twice")

    with step("API: the same code in a new login (a replay) is refused like a wrong password"):
        status, _, body = begin_login(OTP_USER, OTP_PASSWORD)
        replayed = challenge_of(status, body, "a new login")
        status, _, body = answer(replayed["id"], [valid_code])
        expect_refusal(status, body, "unauthenticated", "a replayed code")
        wrong_password_message = body["error"].get("message", "")

    with step("API: a wrong code is refused, and that challenge is spent"):
        wrong = surely_wrong_code()
        status, _, body = begin_login(OTP_USER, OTP_PASSWORD)
        refused = challenge_of(status, body, "a new login")
        status, _, body = answer(refused["id"], [wrong])
        expect_refusal(status, body, "unauthenticated", f"a wrong code ({wrong})")
        if body["error"].get("message") != wrong_password_message:
            raise Failure(f"a wrong code's message {body['error'].get('message')!r} differs from a replay's {wrong_password_message!r}")
        status, _, body = answer(refused["id"], [wrong])
        expect_refusal(status, body, "challengeExpired", "the refused challenge answered again")

    with step(f"API: a challenge expires (a broker of this test's own with challengeSeconds {SHORT_CHALLENGE_SECONDS})"):
        short.start()
        # In time, the short broker logs in: what it refuses next is the delay.
        token = otp_token(used, base=short.base)
        if call("GET", "/api/v1/auth/me", token=token, base=short.base)[0] != 200:
            raise Failure("the short broker's login does not work")
        status, _, body = begin_login(OTP_USER, OTP_PASSWORD, base=short.base)
        late = challenge_of(status, body, "a login on the short broker")
        asked = datetime.datetime.now(datetime.timezone.utc)
        expires = datetime.datetime.fromisoformat(late["expiresAt"])
        lifetime = (expires - asked).total_seconds()
        if not SHORT_CHALLENGE_SECONDS - 3 <= lifetime <= SHORT_CHALLENGE_SECONDS + 1:
            raise Failure(f"the challenge expires in {lifetime:.1f} s, not about {SHORT_CHALLENGE_SECONDS}")
        time.sleep(lifetime + 1.5)
        status, _, body = answer(late["id"], [used.code()], base=short.base)
        expect_refusal(status, body, "challengeExpired", f"a valid code {lifetime + 1.5:.0f} s after the challenge")
        short.stop()

    # -- b. the portal ---------------------------------------------------------------------------

    with step("Chromium starts"):
        portal.start()

    with step("portal: the challenge page masks the code field and labels it with pam_oath's prompt"):
        wait_unthrottled(admin, OTP_USER)
        kind = portal.login_form(OTP_USER, OTP_PASSWORD)
        if kind != "challenge":
            raise Failure(f"the right password led to a {kind} page (alert: {portal.alert_text()!r}), not the code's")
        fields = portal.fields()
        label = otp_prompt.strip().rstrip(":").strip()
        if len(fields) != 1 or fields[0][0] != "answer-0" or fields[0][2] != "password" or fields[0][1] != label:
            raise Failure(f"expected one field #answer-0, type password, labelled {label!r}: {fields}")
        if portal.path() == "/desktops" or portal.driver.get_cookie("deskpool_session"):
            raise Failure("the password alone gave a session")
        portal.driver.save_screenshot(os.path.join(ARTIFACTS, "challenge.png"))

    with step("portal: a wrong code goes back to the login page with an alert"):
        kind = portal.answer([surely_wrong_code()])
        alert = portal.alert_text()
        if kind != "login" or not alert:
            raise Failure(f"a wrong code led to a {kind} page (alert {alert!r}), not the login form with an alert")
        if wrong_password_message.rstrip(".").lower() not in alert.lower():
            raise Failure(f"the alert {alert!r} is not the wrong-password answer {wrong_password_message!r}")
        if portal.driver.get_cookie("deskpool_session"):
            raise Failure("a wrong code left a session cookie")
        log(f"  alert {alert!r}")

    with step("portal: the password and a fresh code reach My desktops"):
        wait_unthrottled(admin, OTP_USER)
        kind = portal.login_form(OTP_USER, OTP_PASSWORD)
        if kind != "challenge":
            raise Failure(f"the right password led to a {kind} page (alert: {portal.alert_text()!r})")
        kind = portal.answer([used.code()])
        if kind == "continue":
            log(f"  PAM said {portal.pam_messages()}")
            kind = portal.submit("a#login-continue")
        if kind != "desktops":
            raise Failure(f"a valid code led to a {kind} page (alert: {portal.alert_text()!r}), not My desktops")
        portal.logout()

    # -- c. an expired password ------------------------------------------------------------------

    renewed = new_password()
    used.passwords.add(renewed)

    with step(f"portal: {RENEW_USER}'s expired password is changed through the prompt pages"):
        kind = portal.login_form(RENEW_USER, RENEW_PASSWORD)
        pages, said, asked = 0, [], []
        while kind == "challenge":
            pages += 1
            if pages > 8:
                raise Failure(f"still asking after 8 pages: {asked}")
            said += portal.pam_messages()
            answers = []
            for field_id, label, kind_of_input in portal.fields():
                lowered = label.lower()
                if "current" in lowered or "old" in lowered:
                    answers.append(RENEW_PASSWORD)
                elif "new" in lowered:
                    answers.append(renewed)
                else:
                    raise Failure(f"a prompt this test does not know how to answer: {label!r} (asked so far: {asked})")
                if kind_of_input != "password":
                    raise Failure(f"the password prompt {label!r} is not masked (type {kind_of_input})")
                asked.append(label)
            kind = portal.answer(answers)
        if kind == "continue":
            said += portal.pam_messages()
            kind = portal.submit("a#login-continue")
        log(f"  prompts {asked}; PAM said {said}")
        if kind != "desktops":
            raise Failure(f"the password change ended on a {kind} page (alert: {portal.alert_text()!r}; PAM said {said}; "
                          f"prompts {asked})")
        if sum("new" in label.lower() for label in asked) < 1:
            raise Failure(f"no prompt asked for a new password: {asked}")
        if not said:
            raise Failure("no page showed PAM's messages (pam_unix says the password must be changed)")
        portal.logout()

    with step("portal: the new password logs in with no challenge; the old one fails"):
        kind = portal.login_form(RENEW_USER, renewed)
        if kind == "continue":
            kind = portal.submit("a#login-continue")
        if kind != "desktops":
            asked = portal.fields() if kind == "challenge" else []
            raise Failure(f"the new password led to a {kind} page (alert: {portal.alert_text()!r}; prompts {asked})")
        portal.logout()
        kind = portal.login_form(RENEW_USER, RENEW_PASSWORD)
        if kind != "login" or not portal.alert_text():
            raise Failure(f"the old password led to a {kind} page (alert {portal.alert_text()!r})")

    # -- d. a pool's further factor --------------------------------------------------------------

    pool = f"{PREFIX}pam"
    with step(f"API: the admin creates pool {pool} with factor {FACTOR_SERVICE}"):
        spec = {"name": pool, "template": TEMPLATE, "assignment": "floating", "min": 0, "max": 1, "spare": 0,
                "naming": f"{PREFIX}pam-{{n:02}}", "groups": [GROUP], "maxPerUser": 1, "factor": FACTOR_SERVICE}
        status, _, body = call("POST", "/api/v1/admin/pools", spec, token=admin)
        if status != 201:
            raise Failure(f"POST /api/v1/admin/pools: {status} {brief(body)}")
        cleanups.append(lambda: delete_pool(admin, pool))
        if body.get("spec", {}).get("factor") != FACTOR_SERVICE:
            raise Failure(f"the pool's spec has factor {body.get('spec', {}).get('factor')!r}")

    with step(f"API: {USER} (no OTP secret) gets 403 factorRequired, the pools list says so, and cannot pass the factor"):
        user_token = plain_token(USER, PASSWORD)
        status, _, body = call("POST", f"/api/v1/pools/{pool}/desktop", token=user_token)
        if status != 403 or error_code(body) != "factorRequired":
            raise Failure(f"a desktop without the factor: expected 403 factorRequired, got {status} {brief(body)}")
        status, _, pools = call("GET", "/api/v1/pools", token=user_token)
        listed = [p for p in pools if p.get("name") == pool] if status == 200 else []
        if len(listed) != 1 or listed[0].get("factorRequired") is not True:
            raise Failure(f"GET /api/v1/pools: expected {pool} with factorRequired true: {status} {brief(pools)}")
        status, _, body = unthrottled("POST", f"/api/v1/pools/{pool}/factor", token=user_token)
        if status == 401 and error_code(body) == "replyExpected":
            status, _, body = answer(body["challenge"]["id"], ["123456"] * len(body["challenge"]["prompts"]))
        else:
            log("  (pam_oath refused at once, without asking: the user has no secret)")
        expect_refusal(status, body, "unauthenticated", f"{FACTOR_SERVICE} for a user without a secret")
        status, _, body = call("POST", f"/api/v1/pools/{pool}/desktop", token=user_token)
        if status != 403 or error_code(body) != "factorRequired":
            raise Failure(f"a desktop after the failed factor: expected 403 factorRequired, got {status} {brief(body)}")

    with step(f"API: {OTP_USER} passes {FACTOR_SERVICE} with a code and gets a desktop"):
        otp = otp_token(used)
        status, _, body = call("POST", f"/api/v1/pools/{pool}/desktop", token=otp)
        if status != 403 or error_code(body) != "factorRequired":
            raise Failure(f"a desktop before the factor: expected 403 factorRequired, got {status} {brief(body)}")
        status, _, body = unthrottled("POST", f"/api/v1/pools/{pool}/factor", token=otp)
        factor = challenge_of(status, body, f"POST /api/v1/pools/{pool}/factor")
        if len(factor["prompts"]) != 1 or factor["prompts"][0].get("echo") is not False:
            raise Failure(f"the factor asks {factor['prompts']}, not one masked code")
        status, _, body = answer(factor["id"], [used.code()])
        if status != 200 or FACTOR_SERVICE not in (body.get("factors") or []) or body.get("user") != OTP_USER:
            raise Failure(f"the factor answered with a valid code: expected 200 with factors holding {FACTOR_SERVICE}, "
                          f"got {status} {brief(body)}")
        status, _, pools = call("GET", "/api/v1/pools", token=otp)
        listed = [p for p in pools if p.get("name") == pool] if status == 200 else []
        if len(listed) != 1 or listed[0].get("factorRequired") is not False:
            raise Failure(f"GET /api/v1/pools after the factor: expected {pool} with factorRequired false: {brief(pools)}")
        status, headers, body = call("POST", f"/api/v1/pools/{pool}/desktop", token=otp)
        if status not in (200, 202):
            raise Failure(f"a desktop after the factor: expected 200 or 202, got {status} {brief(body)}")
        desktop = headers.get("deskpool-desktop") or (body.get("desktop", {}).get("id") if isinstance(body, dict) else None)
        log(f"  {status}: desktop {desktop}")

    with step(f"API: the admin deletes {pool} (and its desktop) at once"):
        cleanups.pop()
        delete_pool(admin, pool, desktop)

    # -- e. no secret on record ------------------------------------------------------------------

    with step("the audit records the logins and the factor"):
        entries = audit_entries(admin)
        logins = [e for e in entries if e.get("action") == "auth.login" and e.get("actor") == f"user:{OTP_USER}"]
        factors = [e for e in entries if e.get("action") == "auth.factor" and e.get("subject") == f"pool/{pool}"
                   and e.get("actor") == f"user:{OTP_USER}"]
        refusals = [e for e in entries if e.get("action") == "auth.login" and e.get("subject") == f"user/{OTP_USER}"
                    and "unauthenticated" in (e.get("result") or "")]
        if not logins or len(factors) != 1 or len(refusals) < 2:
            raise Failure(f"expected auth.login entries of {OTP_USER} ({len(logins)}), one auth.factor for {pool} "
                          f"({len(factors)}), two refusals or more ({len(refusals)})")
        log(f"  {len(entries)} entries; {len(logins)} logins, {len(refusals)} refusals of {OTP_USER}")

    with step("neither the broker's log nor the audit holds a password or a code this test used"):
        texts = {"serve.log": read(os.path.join(STATE, "serve.log")),
                 "the short broker's serve.log": read(os.path.join(ARTIFACTS, "short-broker-serve.log")),
                 "the audit": "\n".join(json.dumps(e) for e in entries)}
        if not texts["serve.log"]:
            raise Failure(f"{STATE}/serve.log is empty or missing")
        found = []
        for where, text in texts.items():
            for password in used.passwords:
                if password in text:
                    found.append(f"a password in {where}")
            for code in used.codes:
                # A code is six digits: only a token of its own counts (not part of a longer
                # number or identifier).
                for match in re.finditer(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", text):
                    line = text[text.rfind("\n", 0, match.start()) + 1:text.find("\n", match.end())]
                    found.append(f"code {code} in {where}: {line[:200]!r}")
        if found:
            raise Failure("; ".join(found))
        log(f"  looked for {len(used.passwords)} passwords and {len(used.codes)} codes in "
            + ", ".join(f"{where} ({len(text)} bytes)" for where, text in texts.items()))

    return steps


def read(path):
    with contextlib.suppress(OSError), open(path, errors="replace") as file:
        return file.read()
    return ""


def audit_entries(admin):
    """Every audit entry, newest first (following `next`)."""
    entries, path = [], "/api/v1/admin/audit?limit=500"
    for _ in range(200):
        status, _, page = call("GET", path, token=admin)
        if status != 200:
            raise Failure(f"GET {path}: {status} {brief(page)}")
        entries += page.get("entries", [])
        path = page.get("next")
        if not path:
            return entries
    raise Failure("the audit has more than 100000 entries")


def delete_pool(admin, pool, desktop=None):
    """Deletes the pool (draining) and the desktop it gave, so that no guest keeps booting."""
    status, _, body = call("DELETE", f"/api/v1/admin/pools/{pool}", token=admin)
    if status not in (200, 202, 204, 404):
        raise Failure(f"DELETE /api/v1/admin/pools/{pool}: {status} {brief(body)}")
    status, _, desktops = call("GET", f"/api/v1/admin/desktops?pool={pool}", token=admin)
    ids = {d["id"] for d in desktops} if status == 200 else set()
    if desktop:
        ids.add(desktop)
    for desktop_id in ids:
        status, _, body = call("DELETE", f"/api/v1/admin/desktops/{desktop_id}", token=admin)
        if status not in (200, 202, 204, 404):
            raise Failure(f"DELETE /api/v1/admin/desktops/{desktop_id}: {status} {brief(body)}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if call("GET", f"/api/v1/admin/pools/{pool}", token=admin)[0] == 404:
            log(f"  {pool} is gone")
            return
        time.sleep(1)
    log(f"  ({pool} is still draining after 120 s: the broker removes it when its desktop is deleted)")


def main():
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise SystemExit("pam_test: missing " + ", ".join(missing) + " (scripts/e2e sets them)")
    for tool in [CHROMIUM, CHROMEDRIVER, NEXT_CODE, "/usr/bin/oathtool"]:
        if not os.access(tool, os.X_OK):
            raise SystemExit(f"pam_test: {tool} is missing (scripts/setup-host installs it)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    portal, short, cleanups = Portal(), ShortBroker(), []
    started = time.monotonic()
    try:
        steps = run(portal, short, cleanups)
    except Exception:
        log(f"failed after {time.monotonic() - started:.0f} s; artifacts in {ARTIFACTS}")
        for cleanup in cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        return 1
    finally:
        portal.stop()
        short.stop()
    log(f"all {len(steps)} steps passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
