"""PDF by a real renderer: headless Chromium prints the HTML page (:mod:`streams.documents.to_html`) to PDF,
honouring its ``@page`` size, margins and page-number boxes, with its fonts embedded."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 180


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("no Chromium to print the PDF with: run `make tools` (Debian package chromium)")


def print_pdf(html_file: Path, pdf_file: Path) -> Path:
    """Print an HTML file to PDF with headless Chromium (its own throw-away profile, no header or footer
    of its own: the page carries its page numbers)."""
    html_file, pdf_file = Path(html_file).resolve(), Path(pdf_file).resolve()
    pdf_file.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="funnel-chromium-") as profile:
        args = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-quic",
                f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                f"--print-to-pdf={pdf_file}", html_file.as_uri()]
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
    if not pdf_file.exists() or pdf_file.stat().st_size == 0:
        raise RuntimeError(f"Chromium did not print {pdf_file} (exit {done.returncode}): {done.stderr[-2000:]}")
    return pdf_file
