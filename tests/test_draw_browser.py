"""The drawing page in a real browser: headless Chromium (the system's, driven by the
playwright package) draws with mouse, pen and touch pointer events on a page served by a
real DrawServer, and checks what the page shows.

Outside CI the tests skip, saying why, when playwright or chromium is missing; under
CI=true they fail instead. MNISTNN_CHROMIUM names the browser when it is not on PATH.
Screenshots go to the test's temporary folder, and also to $MNISTNN_SCREENSHOT_DIR when
set: the README's figures come from
    MNISTNN_SCREENSHOT_DIR=benchmarks/figures pytest tests/test_draw_browser.py
"""
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnistnn import checkpoint
from test_server import Running

pytestmark = pytest.mark.slow

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
# Strokes in fractions of the drawing pad (x right, y down).
SEVEN = [[(0.25, 0.22), (0.75, 0.22), (0.45, 0.82)]]
ONE = [[(0.52, 0.15), (0.5, 0.85)]]
HASH = [[(0.2, 0.35), (0.8, 0.35)], [(0.2, 0.65), (0.8, 0.65)],                   # '#'
        [(0.38, 0.15), (0.32, 0.85)], [(0.68, 0.15), (0.62, 0.85)]]
FOUR_TWO = [[(0.30, 0.15), (0.12, 0.6), (0.42, 0.6)], [(0.33, 0.35), (0.33, 0.88)],   # 4
            [(0.58, 0.3), (0.68, 0.15), (0.82, 0.2), (0.82, 0.4), (0.6, 0.85), (0.88, 0.85)]]


def find_chromium():
    named = os.environ.get("MNISTNN_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    chromium = find_chromium()
    if reason is None and chromium is None:
        reason = "no chromium found (apt-get install chromium, or set MNISTNN_CHROMIUM)"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the browser tests must run under CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site():
    running = Running(checkpoint.load(checkpoint.SHIPPED))
    yield running
    running.stop()
    assert running.errors == []


class Page:
    """One page of the drawing site in a fresh browser context, with its troubles
    (script errors, console errors such as a blocked load) collected."""

    def __init__(self, browser, url, screenshots, **context):
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.screenshots, self.troubles = screenshots, []
        self.page.on("pageerror", lambda error: self.troubles.append(str(error)))
        self.page.on("console", lambda m: m.type == "error" and self.troubles.append(m.text))
        self.imagining, self.most_imagining = 0, 0      # /api/imagine requests in flight
        self.page.on("request", lambda r: self._imagine(r, +1))
        self.page.on("requestfinished", lambda r: self._imagine(r, -1))
        self.page.on("requestfailed", lambda r: self._imagine(r, -1))
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']")
        self.page.wait_for_selector("body[data-imagined='1']")

    def _imagine(self, request, step):
        if "/api/imagine/" in request.url:
            self.imagining += step
            self.most_imagining = max(self.most_imagining, self.imagining)

    def text(self, selector):
        return self.page.inner_text(selector).strip()

    def points(self, stroke, steps=10):
        """Page coordinates along a stroke given in fractions of the pad."""
        box = self.page.locator("#pad").bounding_box()
        xy = np.array(stroke)
        fine = np.concatenate([np.linspace(a, b, steps, endpoint=False)
                               for a, b in zip(xy[:-1], xy[1:])] + [xy[-1:]])
        return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in fine]

    def draw(self, strokes, pointer="mouse"):
        """Draw strokes with the mouse, a pen or a finger; wait for the reading."""
        before = self.page.get_attribute("body", "data-readings")
        for stroke in strokes:
            path = self.points(stroke)
            if pointer == "touch":
                self._touch(path)
            else:
                self._press(path, pointer)
        self.page.wait_for_selector(f"body[data-pending='0']:not([data-readings='{before}'])")

    def _press(self, path, pointer):
        """Mouse or pen strokes as the browser's own input events (pointerType set)."""
        events = [("mousePressed", path[0])] + [("mouseMoved", p) for p in path[1:]]
        for kind, (x, y) in events + [("mouseReleased", path[-1])]:
            self.cdp.send("Input.dispatchMouseEvent", {
                "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1,
                "buttons": 0 if kind == "mouseReleased" else 1, "pointerType": pointer})

    def _touch(self, path):
        for i, (x, y) in enumerate(path):
            kind = "touchStart" if i == 0 else "touchMove"
            self.cdp.send("Input.dispatchTouchEvent",
                          {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def pixels(self, canvas):
        """A canvas as the page shows it: grey levels (H, W) in [0, 1]."""
        width, height, data = self.page.evaluate("""(selector) => {
            const c = document.querySelector(selector);
            return [c.width, c.height, Array.from(c.getContext('2d')
                .getImageData(0, 0, c.width, c.height).data)]; }""", canvas)
        return np.array(data, dtype=float).reshape(height, width, 4)[..., 0] / 255

    def seen(self):
        """The 28x28 preview: what the network saw, white ink on black."""
        return self.pixels("#seen")

    def shoot(self, name, full_page=True, figure=True):
        """A screenshot into the test's folder; a figure also into $MNISTNN_SCREENSHOT_DIR."""
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        if figure and os.environ.get("MNISTNN_SCREENSHOT_DIR"):
            shutil.copy(path, Path(os.environ["MNISTNN_SCREENSHOT_DIR"]) / f"draw-{name}.png")

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def fashion_site():
    running = Running(checkpoint.load(checkpoint.shipped("fashion-mnist")))
    yield running
    running.stop()
    assert running.errors == []


@pytest.fixture
def open_page(browser, site, fashion_site, tmp_path):
    pages = []

    def opener(fashion=False, **context):
        port = (fashion_site if fashion else site).port
        pages.append(Page(browser, f"http://127.0.0.1:{port}/", tmp_path, **context))
        return pages[-1]
    yield opener
    for page in pages:
        page.close()
        assert page.troubles == []


def mnist_form(view):
    """(centre of mass (y, x), longer side of the ink's box) of a 28x28 view."""
    ys, xs = np.nonzero(view > 0.05)
    mass = view.sum()
    centre = ((view.sum(axis=1) @ np.arange(28)) / mass, (view.sum(axis=0) @ np.arange(28)) / mass)
    return centre, max(ys.max() - ys.min(), xs.max() - xs.min()) + 1


def test_a_digit_drawn_with_the_mouse_is_read_live_on_a_laptop(open_page):
    page = open_page(**LAPTOP)
    assert page.text("#answer") == "?" and page.text("#confidence") == "Nothing drawn yet."
    # The ten imagined digits came one request at a time: ten at once held the browser's
    # connections, and the first reading waited behind them (10 s on a busy machine).
    assert page.most_imagining == 1
    conv = "conv" in checkpoint.load(checkpoint.SHIPPED).spec
    assert ("feature maps" in page.text("#inside-note")) == conv     # before any drawing too
    page.draw(SEVEN)
    assert page.text("#answer") == "7"
    assert re.fullmatch(r"\d{2,3}\.\d% sure", page.text("#confidence"))
    bars = page.page.locator("#bars .bar")
    assert bars.count() == 10 and "best" in bars.nth(7).get_attribute("class")
    assert sum(float(bars.nth(i).get_attribute("data-p")) for i in range(10)) == \
        pytest.approx(1, abs=1e-4)
    (cy, cx), side = mnist_form(page.seen())              # MNIST's form: 20 px, centred
    assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5 and 19 <= side <= 21
    assert page.page.locator("#units .unit:not(.empty)").count() == 12
    if conv:                                              # feature maps: no vote
        assert re.fullmatch(r"#\d+", page.text("#units .unit .name"))
        assert "feature maps" in page.text("#inside-note")
    else:
        assert re.fullmatch(r"#\d+ → \d", page.text("#units .unit .name"))
    assert page.page.locator("#imagined figure.current figcaption").inner_text() == "7"
    assert all(page.page.evaluate("() => [...document.images].map(i => i.naturalWidth === 28)"))
    assert int(page.page.get_attribute("body", "data-lag")) < 1000   # ~20 ms when idle
    page.shoot("laptop")


def test_undo_takes_back_the_last_stroke_and_clear_empties_the_pad(open_page):
    page = open_page(**LAPTOP)
    page.draw(SEVEN)
    seven = page.pixels("#pad")
    page.draw(ONE)
    added = np.abs(page.pixels("#pad") - seven).mean()
    page.page.click("#undo")
    page.page.wait_for_selector("body[data-pending='0']")
    # The same strokes, repainted at once rather than as drawn: equal but for anti-aliasing.
    assert np.abs(page.pixels("#pad") - seven).mean() < 0.05 * added
    assert page.text("#answer") == "7"
    page.page.keyboard.press("Escape")
    assert page.text("#answer") == "?" and page.text("#confidence") == "Nothing drawn yet."
    assert page.page.is_disabled("#undo") and page.page.is_disabled("#clear")
    assert page.seen().max() == 0


def test_a_pen_draws_too(open_page):
    page = open_page(**LAPTOP)
    page.page.fill("#brush", "14")
    page.draw(ONE, pointer="pen")
    assert page.text("#answer") == "1"


def test_a_finger_draws_on_a_phone_sized_screen(open_page):
    page = open_page(**PHONE)
    page.draw(SEVEN, pointer="touch")
    assert page.text("#answer") == "7"
    width = page.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390                                   # nothing sticks out sideways
    page.shoot("phone", full_page=False)                  # what a phone shows while drawing


def test_a_two_digit_number(open_page):
    """Number mode reads the pad through reading.read_number: the number, a box per digit
    over the drawing, and each digit's 28x28 with its reading."""
    page = open_page(**LAPTOP)
    model = page.page.evaluate("() => fetch('/api/model').then(r => r.json())")
    assert model["can"]["number"] is True
    page.page.click("#mode button[data-mode='number']")
    page.draw(FOUR_TWO)
    assert page.text("#answer") == "42"
    assert page.page.locator("#boxes rect").count() == 2
    assert page.page.locator("#digits figure").count() == 2
    assert page.page.locator("#digits figcaption").first.inner_text().startswith("4 · ")
    page.shoot("number")


def test_a_line_across_in_number_mode_is_not_a_row_of_digits(open_page):
    """A line drawn across the pad is one piece, not a number: the page says so (it
    showed '0??0??00??????', 14 digits), and an answer with an error leaves no boxes or
    digits of the reading before it behind."""
    page = open_page(**LAPTOP)
    page.page.click("#mode button[data-mode='number']")
    page.draw([[(0.1, 0.5), (0.9, 0.5)]])
    assert page.text("#answer") == "not a digit"
    assert re.fullmatch(r"closest: \d", page.text("#confidence"))
    assert page.page.locator("#boxes rect").count() == 1
    page.page.evaluate("() => show({error: 'no digit found: only specks of ink'})")
    assert page.page.locator("#boxes rect").count() == 0
    assert page.page.locator("#digits figure").count() == 0


def test_a_long_number_fits_a_phone(open_page):
    page = open_page(**PHONE)
    page.page.click("#mode button[data-mode='number']")
    page.page.evaluate("() => setAnswer('12345678901234')")
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_a_hash_sign_is_not_a_digit(open_page):
    """'#' drawn on the pad: the shipped detector turns it away, and the page says "not a
    digit" with the closest digit, frames no imagined digit, and marks the closest bar."""
    page = open_page(**LAPTOP)
    page.draw(HASH)
    assert page.text("#answer") == "not a digit"
    closest = re.fullmatch(r"closest: (\d), \d+\.\d%", page.text("#confidence"))
    assert closest
    bar = page.page.locator("#bars .bar").nth(int(closest.group(1)))
    assert "best" in bar.get_attribute("class")
    assert page.page.locator("#imagined figure.current").count() == 0
    page.shoot("not-a-digit")


def test_switching_to_numbers_and_back_keeps_the_drawing(open_page):
    """The drawing moves to the other pad and is read again there (switching cleared it,
    with no undo); the answer of the mode left is not shown in the new one."""
    page = open_page(**LAPTOP)
    page.draw(SEVEN)
    assert page.text("#answer") == "7"
    readings = int(page.page.get_attribute("body", "data-readings"))
    page.page.click("#mode button[data-mode='number']")
    page.page.wait_for_function(f"() => +document.body.dataset.readings > {readings}")
    page.page.wait_for_selector("body[data-pending='0']")
    assert page.text("#answer") == "7" and page.page.locator("#boxes rect").count() == 1
    assert page.pixels("#pad").min() < 0.5 and not page.page.is_disabled("#undo")
    page.page.click("#mode button[data-mode='digit']")
    page.page.wait_for_selector("body[data-pending='0']")
    assert page.text("#answer") == "7" and page.page.locator("#boxes rect").count() == 0
    page.page.click("#undo")
    assert page.text("#answer") == "?" and page.pixels("#pad").min() > 0.9


def test_a_piece_of_a_number_turned_away_says_so(open_page):
    page = open_page(**LAPTOP)
    page.page.click("#mode button[data-mode='number']")
    piece = {"box": [10, 10, 60, 90], "confidence": 0.9, "probabilities": [0.1] * 10}
    page.page.evaluate("""(piece) => show({number: '2?', confidence: 0.5, digits: [
        {...piece, digit: 2}, {...piece, box: [90, 10, 150, 90], digit: null, closest: 8}]})""",
                       piece)
    assert page.text("#confidence") == "2 pieces, 1 of them (?) not a digit"
    captions = page.page.locator("#digits figcaption").all_inner_texts()
    assert captions == ["2 · 90.0%", "? not a digit (closest: 8)"]


@pytest.mark.parametrize("screen", ["laptop", "phone"])
def test_the_fashion_page_speaks_of_clothes_and_shows_whole_class_names(open_page, screen):
    page = open_page(fashion=True, **(LAPTOP if screen == "laptop" else PHONE))
    words = page.text("body")
    assert "Draw a piece of clothing" in words and "digit" not in words.lower()
    assert "scaled to fit 20" not in page.page.inner_html(".seen")
    labels = page.page.locator("#bars .bar .label")
    assert labels.all_inner_texts()[0] == "T-shirt/top" and labels.count() == 10
    cut = page.page.evaluate("""() => [...document.querySelectorAll('#bars .label')]
        .filter(l => l.scrollHeight > l.clientHeight + 1 || l.scrollWidth > l.clientWidth + 1)
        .map(l => l.textContent)""")
    assert cut == []                                      # no name cut short
    # The model card: a convolution followed by bn has its activation after the bn.
    arch = page.text("#arch")
    assert "conv32k3same → bn relu" in arch and "relu → bn" not in arch
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= \
        page.page.viewport_size["width"]
    page.shoot(f"fashion-{screen}")
