"""Headless Chromium (Selenium) as the tiers that drive the portal use it (portal_test.py and
pam_test.py): the browser with the options both start it with, the page helpers they share,
and the steps' lines, with a failing step's screenshot and page source in the artifacts."""

import contextlib
import os
import shutil
import tempfile
import time
import traceback
import urllib.parse

os.environ.setdefault("SE_AVOID_STATS", "true")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 800)


class Failure(Exception):
    """A step's check that did not hold: the step's FAILED line gives its message, not a
    traceback."""


def step_reporter(page, log):
    """The steps of a run: (the names of the steps passed so far, `step`). `step(name)` is a
    context manager that prints `ok   NAME (SECONDS s)` through `log` when its block ends;
    when the block raises, it leaves the page's screenshot and source in the artifacts, prints
    `FAILED NAME: ...` (a Failure's message, any other exception's traceback) and raises
    again."""
    passed = []

    @contextlib.contextmanager
    def step(name):
        started = time.monotonic()
        try:
            yield
        except Exception as error:
            page.failure(name)
            detail = str(error) if isinstance(error, Failure) else "".join(traceback.format_exception(error))
            log(f"FAILED {name}: {detail}")
            raise
        passed.append(name)
        log(f"ok   {name} ({time.monotonic() - started:.1f} s)")

    return passed, step


class ChromiumPage:
    """The portal at `url` in headless Chromium: its profile in a temporary folder of its own
    (`work`, named with `prefix`), chromedriver's log in `artifacts`, and `log` (the test's)
    for a failing step's note. start() opens the browser; stop() closes it and removes the
    folder."""

    def __init__(self, url, artifacts, log, prefix):
        self.url = url.rstrip("/")
        self.artifacts = artifacts
        self.log = log
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.driver = None

    def options(self):
        """Chromium's options: headless, 1280x800, in English, its own profile. A subclass
        adds its own to these."""
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={WINDOW[0]},{WINDOW[1]}", "--lang=en-US",
                         f"--user-data-dir={os.path.join(self.work, 'profile')}"]:
            options.add_argument(argument)
        return options

    def start(self):
        options = self.options()
        service = Service(executable_path=CHROMEDRIVER, log_output=os.path.join(self.artifacts, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_window_size(*WINDOW)
        self.driver.set_page_load_timeout(60)

    def stop(self):
        if self.driver:
            with contextlib.suppress(Exception):
                self.driver.quit()
        shutil.rmtree(self.work, ignore_errors=True)

    def open(self, path):
        self.driver.get(self.url + path)

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, what, condition, timeout=30, interval=0.25):
        """Polls `condition` (a callable returning a truthy value) until it holds."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except (NoSuchElementException, WebDriverException) as error:
                last_error = error
            time.sleep(interval)
        raise Failure(f"timed out after {timeout} s waiting for {what}"
                      + (f" (last error: {getattr(last_error, 'msg', last_error)})" if last_error else ""))

    def alert_text(self):
        """The page's alerts (role=alert) that show, joined by " / "; empty when none does."""
        return " / ".join(a.text.strip() for a in self.find_all('[role="alert"]') if a.is_displayed())

    def fill_login(self, user, password):
        """Opens /login and fills its form (the user field cleared first); returns the form,
        not yet submitted."""
        self.open("/login")
        form = self.wait_for("form#login-form", lambda: self.find("form#login-form"))
        form.find_element(By.CSS_SELECTOR, "input#user").clear()
        form.find_element(By.CSS_SELECTOR, "input#user").send_keys(user)
        form.find_element(By.CSS_SELECTOR, "input#password").send_keys(password)
        return form

    def failure(self, name):
        """Leaves the failing page's screenshot and source in the artifacts folder."""
        if not self.driver:
            return
        slug = "".join(c if c.isalnum() else "-" for c in name)[:60]
        with contextlib.suppress(Exception):
            self.driver.save_screenshot(os.path.join(self.artifacts, f"failed-{slug}.png"))
            with open(os.path.join(self.artifacts, f"failed-{slug}.html"), "w", encoding="utf-8") as file:
                file.write(self.driver.page_source)
            self.log(f"  page {self.driver.current_url}; screenshot and source in {self.artifacts}")
