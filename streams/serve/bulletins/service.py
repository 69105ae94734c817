"""The issued bulletins in a directory, and the making of one from the serve's figures (one at a time)."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from streams import config
from streams.core.clock import period_label, today_cst
from streams.core.rankings import parse_period
from streams.documents.chinese import period_name
from streams.serve.settings import ServeSettings

log = logging.getLogger(__name__)

FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
#: What ``funnel bulletin`` writes: ``bulletin-<period>.<format>`` (attachments and HTML are not listed).
FILE = re.compile(r"^bulletin-(\d{4}(?:-\d{2}|Q[1-4])?)\.(docx|pdf)$")
_making = threading.Lock()


class Busy(Exception):
    """Another bulletin is being made: one at a time (each prints through a headless Chromium)."""


@dataclass(frozen=True)
class Issued:
    """One period's bulletin: its files by format, when the newest was written."""

    period: str
    files: dict[str, Path] = field(default_factory=dict)
    written: float = 0.0

    @property
    def title(self) -> str:
        """``二七区招商引资项目2024年第四季度通报``, the document's own title."""
        return f"二七区招商引资项目{period_name(self.period)}通报"

    @property
    def kind(self) -> str:
        """月通报, 季度通报 or 年度通报."""
        return "季度通报" if "Q" in self.period else "月通报" if "-" in self.period else "年度通报"


def _order(period: str) -> tuple[int, int, int]:
    """Newest first, within a year: the year, then its quarters, then its months (by their ends)."""
    year = int(period[:4])
    if "Q" in period:
        return year, int(period[5]) * 3, 1
    if "-" in period:
        return year, int(period[5:7]), 0
    return year, 13, 2


def issued(directory: Path) -> list[Issued]:
    """The bulletins in ``directory`` (DOCX and/or PDF per period), the newest period first."""
    found: dict[str, dict[str, Path]] = {}
    if Path(directory).is_dir():
        for path in Path(directory).iterdir():
            m = FILE.match(path.name)
            if m and path.is_file():
                found.setdefault(m.group(1), {})[m.group(2)] = path
    items = [Issued(p, files, max(f.stat().st_mtime for f in files.values())) for p, files in found.items()]
    return sorted(items, key=lambda i: _order(i.period), reverse=True)


def file_of(directory: Path, period: str, fmt: str) -> Path | None:
    """The file of one period and format, if issued; the name is rebuilt, never taken from the request."""
    if fmt not in FORMATS:
        return None
    try:
        label = parse_period(period)
    except ValueError:
        return None
    path = Path(directory) / f"bulletin-{label}.{fmt}"
    return path if path.is_file() else None


def as_of(settings: ServeSettings) -> date:
    """The day the figures stand at: the replay directory's as-of, else today (CST)."""
    if settings.source:
        import json

        summary = json.loads((settings.source / "summary.json").read_text(encoding="utf-8"))
        return date.fromisoformat(summary["as_of"])
    return today_cst()


def current_periods(day: date) -> list[str]:
    """The month, quarter and year that ``day`` falls in: the bulletins one may make now."""
    return [period_label(day, g) for g in ("month", "quarter", "year")]


def generate(settings: ServeSettings, period: str) -> dict[str, Path]:
    """Make the bulletin of ``period`` (DOCX and PDF) into ``settings.bulletins``; Busy if one is being made."""
    from streams.documents import publish, sources

    label = parse_period(period)
    if not _making.acquire(blocking=False):
        raise Busy()
    started = time.perf_counter()
    try:
        targets = config.targets(settings.targets_file)
        with tempfile.TemporaryDirectory(prefix="funnel-serve-bulletin-") as work:
            if settings.source:
                data = sources.from_replay_dir(settings.source, targets)
            else:
                data = sources.from_log(_topic_log(settings, work), label, targets, f"topic {settings.topic}", work)
            done = publish.publish(data, label, settings.bulletins, ("docx", "pdf"))
    finally:
        _making.release()
    log.info("bulletin %s made in %.1f s: %s", label, time.perf_counter() - started,
             ", ".join(str(p) for p in done.files.values()))
    return {k: v for k, v in done.files.items() if k in FORMATS}


def _topic_log(settings: ServeSettings, work: str):
    """The topic's received log, spilled to ``work``."""
    from streams import replay

    bootstrap = settings.bootstrap_servers or config.bootstrap_servers()
    return replay.log_from_topic(bootstrap, settings.topic, spill=work)
