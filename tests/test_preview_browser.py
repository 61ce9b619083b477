"""The preview page in a real browser (Debian's chromium, headless, driven by Selenium and
chromedriver) during a real run: two different iterations shown, the image decoded, the
curve drawn, and a screenshot taken. Skipped where chromium is not installed, unless
STYLIZE_REQUIRE_BROWSER=1 (``.ci/run`` installs it and sets that, so CI always runs it)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
URL = re.compile(r"preview: (http://127\.0\.0\.1:\d+/)")


def _browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        if os.environ.get("STYLIZE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STYLIZE_REQUIRE_BROWSER=1 but missing: {', '.join(missing)}")
        pytest.skip(f"no browser: missing {', '.join(missing)} (apt-get install chromium"
                    " chromium-driver)")  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1100,760", "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _until(check, timeout: float = 60.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
def test_the_page_shows_a_run_going_on_in_a_browser(vgg_file, image_files, tmp_path):
    browser = _browser()
    process = subprocess.Popen(
        [sys.executable, "-m", "stylize", "run", "--content", str(image_files["content"]),
         "--style", str(image_files["style"]), "--weights", str(vgg_file), "-o", "out.png",
         "--iterations", str(10**6), "--quiet", "--preview", "0"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = URL.search(process.stderr.readline()).group(1)
        browser.get(url)
        text = lambda element: browser.find_element("id", element).text  # noqa: E731
        first = _until(lambda: text("iteration") if not text("iteration").startswith(("0 ", "-"))
                       else None, what="a first iteration")  # fmt: skip
        second = _until(lambda: text("iteration") if text("iteration") != first else None,
                        what="a second iteration")  # fmt: skip
        assert re.fullmatch(r"\d+ of 1000000", first) and re.fullmatch(r"\d+ of 1000000", second)
        assert text("status") == "running" and float(text("J")) > 0
        width = _until(lambda: browser.execute_script(
            "return document.getElementById('image').naturalWidth"), what="the image")  # fmt: skip
        assert width == 32  # the content's width: the run's own image, not a placeholder
        shot = tmp_path / "preview.png"
        assert browser.save_screenshot(str(shot))
    finally:
        browser.quit()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 130
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    curve_blue = np.all(np.abs(pixels - [31, 119, 180]) < 30, axis=-1).sum()
    assert curve_blue > 200  # the J line of the cost curve was drawn on the canvas
