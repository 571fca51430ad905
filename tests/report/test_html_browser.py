"""The HTML report in a real browser: Debian's chromium, headless, driven by Playwright (no browser download).

Asserts on the rendered DOM (the layout pictures of the 2022 example) and that the screenshot is not blank.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from abiguard.compare import DiffResult, run_diff
from abiguard.model import parse_arch_list
from abiguard.report import render_diff
from abiguard.sources import SourceOptions, load_source

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_pt_regs-2022"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]  # containers often have a tiny /dev/shm


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    return path


@pytest.fixture(scope="module")
def example_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    targets = parse_arch_list("x86_64,aarch64,s390x")
    opts = SourceOptions(use_cache=False)
    result: DiffResult = run_diff(load_source(str(EXAMPLE / "before"), targets, opts),
                                  load_source(str(EXAMPLE / "after"), targets, opts))
    page = tmp_path_factory.mktemp("html") / "report.html"
    page.write_text(render_diff(result, "html"), encoding="utf-8")
    return page


def _png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit non-interlaced RGB/RGBA PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, up_left = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def test_layout_pictures_render_in_chromium(example_page: Path, tmp_path: Path) -> None:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1000, "height": 800})
        try:
            page = browser.new_page()
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(example_page.as_uri())
            page.wait_for_load_state("load")
            # One picture per affected type per arch: user_pt_regs and bpf_perf_event_data on aarch64 and s390x.
            svgs = page.locator("svg.layout")
            assert sorted(svgs.nth(i).get_attribute("data-arch") or "" for i in range(svgs.count())) == \
                ["aarch64", "aarch64", "s390x", "s390x"]
            for member in ("orig_x0", "orig_gpr2"):
                box = page.locator(f'rect[data-member="{member}"]')
                assert box.count() == 1 and box.get_attribute("data-side") == "new"
                assert "added" in (box.get_attribute("class") or "")
                assert box.bounding_box()["height"] > 5  # drawn, not a zero-size stub
            for member in ("sample_period", "addr"):
                moved = page.locator(f'rect.moved[data-member="{member}"]')
                assert moved.count() == 4  # old and new box on both arches
                s390 = page.locator(f'svg[data-arch="s390x"] rect.moved[data-member="{member}"]')
                old_y = s390.nth(0).bounding_box()["y"] if s390.nth(0).get_attribute("data-side") == "old" else \
                    s390.nth(1).bounding_box()["y"]
                new_y = s390.nth(1).bounding_box()["y"] if s390.nth(1).get_attribute("data-side") == "new" else \
                    s390.nth(0).bounding_box()["y"]
                assert new_y > old_y  # it slid down by 8 bytes' worth of pixels
                assert page.locator(f'line.slide[data-member="{member}"]').count() == 2
            fills = page.evaluate("""() => ['moved', 'added', 'same'].map(c => {
                const el = document.querySelector('rect.box.' + c);
                return el ? getComputedStyle(el).fill : null; })""")
            assert None not in fills and len(set(fills)) == 3  # highlighted members stand out
            chain = page.locator('svg[data-type="struct bpf_perf_event_data"] [data-chain]')
            assert [chain.nth(i).get_attribute("data-chain") for i in range(3)] == \
                ["user_pt_regs", "bpf_user_pt_regs_t", "bpf_perf_event_data.regs"]
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot))  # the viewport: summary and first pictures
        finally:
            browser.close()
    assert outside == []  # self-contained: nothing fetched from anywhere
    width, height, bpp, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 800)
    sample = [row[i] for row in rows[::7] for i in range(0, width * bpp, 7 * bpp)]
    mean = sum(sample) / len(sample)
    variance = sum((v - mean) ** 2 for v in sample) / len(sample)
    assert variance > 200 and len(set(sample)) > 20  # not a blank (single-colour) page
