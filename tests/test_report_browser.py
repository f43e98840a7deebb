"""The HTML report renders in a real headless browser, offline, with its tables and charts."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from test_flow_end_to_end import run_cli
from test_report import rows, warehouse_with  # noqa: F401  (fixture)
from warehouse_checks import feed_records, find_in_bytes, partner_personal_values, personal_values

from victim_intake.synthetic import write_demo_inbox

_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)
BAR_BLUE = (0x1F, 0x5F, 0x8B)
BAR_ORANGE = (0xE0, 0x7B, 0x39)


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to an array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 4 if colour == 6 else 3
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * channels + 1)
    image = np.zeros((height, width * channels), dtype=np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        above = image[y - 1] if y else np.zeros_like(line)
        if kind == 0:
            image[y] = line
        elif kind == 2:
            image[y] = (line + above) % 256
        else:
            out = np.zeros_like(line)
            for x in range(len(line)):
                left = out[x - channels] if x >= channels else 0
                corner = above[x - channels] if x >= channels else 0
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + above[x]) // 2
                else:
                    p = left + above[x] - corner
                    pa, pb, pc = abs(p - left), abs(p - above[x]), abs(p - corner)
                    predictor = left if pa <= pb and pa <= pc else above[x] if pb <= pc else corner
                out[x] = (line[x] + predictor) % 256
            image[y] = out
    return image.reshape(height, width, channels)[:, :, :3]


def render(chromium: str, page: Path, tmp_path: Path) -> tuple[str, np.ndarray]:
    """The DOM Chromium builds from the page, and a 1200x1600 screenshot as RGB pixels."""
    shot = tmp_path / "shot.png"
    profile = tmp_path / "chromium-profile"
    base = [chromium, *_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], check=True, capture_output=True, timeout=120, text=True).stdout
    return dom, png_pixels(shot.read_bytes())


def test_html_report_renders_tables_and_charts_in_chromium(chromium, tmp_path, rows, isolated_settings) -> None:  # noqa: F811
    warehouse_with(f"sqlite:///{isolated_settings / 'warehouse.sqlite'}", rows).dispose()
    page = tmp_path / "report.html"
    code, output = run_cli("report", "--year", "2024", "--format", "html", "--lang", "en", "--out", str(page))
    assert code == 0, output
    dom, pixels = render(chromium, page, tmp_path)
    # The browser parsed the tables and the three charts.
    assert dom.count("<svg") == 3 and dom.count("<table") >= 14
    assert pixels.shape[:2] == (1600, 1200)
    blue = np.all(pixels == BAR_BLUE, axis=2).sum()
    orange = np.all(pixels == BAR_ORANGE, axis=2).sum()
    # Bars of the form chart and both series of the trend chart are painted in the first screen.
    assert blue > 5000 and orange > 2000, (blue, orange)


@pytest.mark.usefixtures("prefect_server")
def test_report_of_the_demo_warehouse_renders_and_holds_no_personal_value(chromium, tmp_path, pseudonym_key, vault_key, isolated_settings) -> None:
    inbox = tmp_path / "inbox"
    # About 330 persons in 2024: with fewer than 150, the suppression hides nearly every persons
    # cell of the year (its total included), and the form chart has no bar to draw.
    write_demo_inbox(inbox, persons=1200, seed=3, files=2)
    code, text = run_cli("run", "--inbox", str(inbox))
    assert code == 0, text
    outputs = {}
    for output in ("html", "md", "csv"):
        target = tmp_path / f"report-{output}"
        code, text = run_cli("report", "--year", "2024", "--format", output, "--out", str(target))
        assert code == 0, text
        files = sorted(target.glob("*.csv")) if output == "csv" else [target]
        outputs |= {f"{output}:{path.name}": path.read_bytes() for path in files}
    page = tmp_path / "report.html"
    page.write_bytes(outputs["html:report-html"])
    dom, pixels = render(chromium, page, tmp_path)
    assert dom.count("<svg") == 3 and "Methode" in dom
    assert np.all(pixels == BAR_BLUE, axis=2).sum() > 1000
    values = personal_values(feed_records(inbox)) | partner_personal_values(inbox)
    assert find_in_bytes(values, outputs) == []
