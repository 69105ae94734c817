"""The typefaces of GB/T 9704 (党政机关公文格式) and what to use where they are not installed.

The standard sets the title in 方正小标宋简体 (二号), the body in 仿宋_GB2312 (三号, 16 pt), first-level
headings in 黑体 and second-level ones in 楷体_GB2312. Those fonts are commercial and no Debian
package installs them; on a machine that has them (a bureau's Windows PC does) they are used. Else
each role falls back to the first installed of free fonts that Debian packages: Noto Serif CJK SC
(fonts-noto-cjk; a Song face, bold for the title) for title and body, Noto Sans CJK SC for headings
(a Hei face), AR PL UKai CN (fonts-arphic-ukai; a Kai face) for second-level headings, and WenQuanYi
Micro Hei (fonts-wqy-microhei) for anything else.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass

#: role -> the GB/T 9704 typeface (and names it goes by on other systems)
OFFICIAL: dict[str, tuple[str, ...]] = {
    "title": ("方正小标宋简体", "FZXiaoBiaoSong-B05S", "方正小标宋_GBK"),
    "body": ("仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong"),
    "heading": ("黑体", "SimHei"),
    "subheading": ("楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi"),
}
#: role -> installable free fonts, in order of preference
FALLBACK: dict[str, tuple[str, ...]] = {
    "title": ("Noto Serif CJK SC", "AR PL UMing CN", "WenQuanYi Micro Hei"),
    "body": ("Noto Serif CJK SC", "AR PL UMing CN", "WenQuanYi Micro Hei"),
    "heading": ("Noto Sans CJK SC", "WenQuanYi Micro Hei"),
    "subheading": ("AR PL UKai CN", "Noto Serif CJK SC", "WenQuanYi Micro Hei"),
}
ROLES = tuple(OFFICIAL)


@dataclass(frozen=True)
class Typeface:
    name: str
    official: bool  #: the GB/T 9704 typeface itself
    bold: bool  #: drawn bold (a Song face standing in for 小标宋's heavy strokes)

    def css(self, role: str) -> str:
        """A CSS font-family list: the official names first, then this one, then the other fallbacks."""
        names = dict.fromkeys([*OFFICIAL[role], self.name, *FALLBACK[role]])
        return ", ".join(f'"{n}"' for n in names) + (", sans-serif" if role == "heading" else ", serif")


@dataclass(frozen=True)
class FontPlan:
    title: Typeface
    body: Typeface
    heading: Typeface
    subheading: Typeface

    def role(self, role: str) -> Typeface:
        return getattr(self, role)

    def fallbacks(self) -> list[str]:
        """The roles set in a fallback typeface, as ``role: name`` (empty when all are official)."""
        return [f"{r}: {self.role(r).name}" for r in ROLES if not self.role(r).official]


@functools.lru_cache(maxsize=1)
def installed_families() -> frozenset[str]:
    """Every font family name fontconfig knows on this machine (each of a font's names)."""
    if shutil.which("fc-list") is None:
        return frozenset()
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=60).stdout
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(",") if name.strip())


def plan(mode: str = "auto", installed: frozenset[str] | None = None) -> FontPlan:
    """``auto``: each role's GB/T 9704 typeface where installed, else the first installed fallback.
    ``official``: name the GB/T 9704 typefaces whatever is installed (for documents opened on
    machines that have them; a renderer here substitutes)."""
    if mode not in ("auto", "official"):
        raise ValueError(f"font mode {mode!r}: auto or official")
    have = installed_families() if installed is None else installed

    def pick(role: str) -> Typeface:
        official = next((n for n in OFFICIAL[role] if n in have), None)
        if official or mode == "official":
            return Typeface(official or OFFICIAL[role][0], True, False)
        name = next((n for n in FALLBACK[role] if n in have), FALLBACK[role][-1])
        return Typeface(name, False, role == "title")
    return FontPlan(*(pick(r) for r in ROLES))
