"""Chart styling: a CJK font so Chinese labels never render as boxes, and bilingual labels."""

from __future__ import annotations

from streams.contract.events import AXES, INDUSTRIES, ZONES

POOL_LABELS = {"planning": "谋划 planning", "attraction": "招引 attraction", "signed": "签约 signed",
               "landed": "落地 landed", "dropped": "终止 dropped"}
STAGE_LABELS = {"planned": "谋划 planned", "negotiating": "洽谈 negotiating", "signed": "签约 signed",
                "started": "开工 started", "completed": "竣工 completed", "operating": "投产 operating"}
CJK_FONTS = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "SimHei", "Microsoft YaHei"]


def bilingual(value: str) -> str:
    """现代商贸 → '现代商贸 modern commerce' for any dimension value the contract names."""
    for names in (INDUSTRIES, ZONES, AXES):
        if value in names:
            return f"{value} {names[value]}"
    return STAGE_LABELS.get(value) or POOL_LABELS.get(value) or value


def interactive() -> bool:
    """In JupyterLab charts are widgets (zoom, pan); the headless report (FUNNEL_REPORT=1) keeps static PNGs."""
    import os

    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None and not os.environ.get("FUNNEL_REPORT")


def setup() -> str:
    """Use the first installed CJK font (returns its name; raises if none: labels would be boxes),
    and the interactive ipympl backend when a person runs the notebook in JupyterLab."""
    import matplotlib
    from matplotlib import font_manager

    if interactive():
        from IPython import get_ipython

        get_ipython().run_line_magic("matplotlib", "widget")

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
            matplotlib.rcParams["font.family"] = "sans-serif"
            matplotlib.rcParams["axes.unicode_minus"] = False
            matplotlib.rcParams["figure.dpi"] = 110
            return name
    raise RuntimeError("no CJK font installed: run `make setup` (Debian package fonts-wqy-microhei)")
