"""An inline SVG of one type's old and new layout side by side: members as boxes at their (scaled) offsets.

Members that moved, resized, appeared or vanished are coloured; a moved member's old and new boxes are
joined by a line so the slide is visible; the by-value chain that carries the change is drawn on top.
Every number comes from the DiffResult's layouts (the graphs); nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ..compare.layouts import MemberBox, TypeLayout

WIDTH = 560
COL_W = 170
OLD_X, NEW_X = 70, 330
TOP = 64  # room for the title and the chain
MAX_H = 480  # the taller version is drawn at most this tall
MAX_SCALE = 3.0  # pixels per byte for small types
LABEL_MIN_H = 11  # boxes lower than this carry no text (their <title> still names them)

CSS = """
svg.layout{font:11px ui-monospace,monospace;background:#fff;border:1px solid #ddd;margin:.3em}
svg.layout .box{stroke:#555;stroke-width:.6;fill:#e8eaf6}
svg.layout .box.moved{fill:#ffb74d}svg.layout .box.resized{fill:#ce93d8}
svg.layout .box.added{fill:#81c784}svg.layout .box.removed{fill:#e57373}
svg.layout .frame{fill:none;stroke:#222;stroke-width:1}svg.layout .slide{stroke:#ef6c00;stroke-width:1.2}
svg.layout .chain rect{fill:#fff3e0;stroke:#ef6c00}svg.layout .arrow{stroke:#ef6c00;fill:none}
svg.layout .title{font-weight:bold}svg.layout .off{fill:#666;font-size:9px}
"""


@dataclass(frozen=True)
class _Mark:
    """How one member changed between the two versions (by name)."""

    moved: bool
    resized: bool


def _marks(old: TypeLayout | None, new: TypeLayout | None) -> dict[str, _Mark]:
    before = {m.name: m for m in old.members} if old else {}
    after = {m.name: m for m in new.members} if new else {}
    out = {}
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        out[name] = _Mark(a.bit_offset != b.bit_offset, a.bit_size != b.bit_size or a.type != b.type)
    return out


def _state(m: MemberBox, marks: dict[str, _Mark], side: str) -> str:
    mark = marks.get(m.name)
    if mark is None:
        return "added" if side == "new" else "removed"
    if mark.moved:
        return "moved"
    return "resized" if mark.resized else "same"


def render_svg(type_name: str, arch: str, old: TypeLayout | None, new: TypeLayout | None,
               chain: Sequence[str] = ()) -> str:
    """One `<svg class="layout">` element (no external references) for `type_name` on `arch`."""
    sizes = [t.size for t in (old, new) if t is not None] or [1]
    scale = min(MAX_SCALE, MAX_H / max(max(sizes), 1))
    marks = _marks(old, new)
    height = TOP + max(sizes) * scale + 24
    width = max(WIDTH, int(_chain_width(chain)) + 8)
    parts = [f'<svg class="layout" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
             f'viewBox="0 0 {width} {height:.0f}" role="img" data-type="{escape(type_name)}" '
             f'data-arch="{escape(arch)}">',
             f"<title>{escape(type_name)} on {escape(arch)}: old and new layout</title>",
             f'<text class="title" x="8" y="16">{escape(type_name)} \u2014 {escape(arch)}</text>']
    parts += _chain(chain)
    for side, layout, x in (("old", old, OLD_X), ("new", new, NEW_X)):
        label = f"{side}: {layout.size} bytes" if layout else f"{side}: absent"
        parts.append(f'<text x="{x}" y="{TOP - 6}">{escape(label)}</text>')
        if layout is None:
            continue
        parts.append(f'<rect class="frame" x="{x}" y="{TOP}" width="{COL_W}" height="{layout.size * scale:.1f}"/>')
        for m in layout.members:
            parts += _box(m, _state(m, marks, side), side, x, scale)
    parts += _slides(old, new, marks, scale)
    parts.append("</svg>")
    return "".join(parts)


def _box(m: MemberBox, state: str, side: str, x: int, scale: float) -> list[str]:
    y = TOP + m.bit_offset / 8 * scale
    h = max(m.bit_size / 8 * scale, 1.0)
    tip = f"{m.name}: {m.type}, offset {m.offset}, {m.size} byte{'s' if m.size != 1 else ''}"
    if m.bit_size % 8 or m.bit_offset % 8:
        tip += f" (bits {m.bit_offset}..{m.bit_offset + m.bit_size - 1})"
    out = [f'<g><rect class="box {state}" data-member="{escape(m.name)}" data-side="{side}" '
           f'data-offset="{m.offset}" data-size="{m.size}" x="{x}" y="{y:.1f}" width="{COL_W}" height="{h:.1f}">'
           f"<title>{escape(tip)}</title></rect>"]
    if h >= LABEL_MIN_H:
        out.append(f'<text x="{x + 4}" y="{y + min(h, 24) / 2 + 4:.1f}">{escape(m.name)}</text>')
        offset_x = x - 4 if side == "old" else x + COL_W + 4
        anchor = "end" if side == "old" else "start"
        out.append(f'<text class="off" x="{offset_x}" y="{y + 9:.1f}" text-anchor="{anchor}">{m.offset}</text>')
    out.append("</g>")
    return out


def _slides(old: TypeLayout | None, new: TypeLayout | None, marks: dict[str, _Mark], scale: float) -> list[str]:
    """A line from each moved member's old box to its new one."""
    if old is None or new is None:
        return []
    after = {m.name: m for m in new.members}
    out = []
    for m in old.members:
        mark = marks.get(m.name)
        if mark is None or not mark.moved:
            continue
        y1 = TOP + (m.bit_offset + m.bit_size / 2) / 8 * scale
        b = after[m.name]
        y2 = TOP + (b.bit_offset + b.bit_size / 2) / 8 * scale
        out.append(f'<line class="slide" data-member="{escape(m.name)}" x1="{OLD_X + COL_W}" y1="{y1:.1f}" '
                   f'x2="{NEW_X}" y2="{y2:.1f}"/>')
    return out


def _chain_width(chain: Sequence[str]) -> float:
    return 8 + sum(7 * len(name) + 28 for name in chain) if len(chain) > 1 else 0


def _chain(chain: Sequence[str]) -> list[str]:
    """The by-value chain as boxes joined by arrows, e.g. user_pt_regs -> bpf_user_pt_regs_t -> ...regs."""
    if len(chain) < 2:
        return []
    out = ['<g class="chain">']
    x = 8.0
    for i, name in enumerate(chain):
        w = 7 * len(name) + 10  # about one monospace character width per letter at 11px
        if i:
            out.append(f'<path class="arrow" d="M{x - 14:.0f},33 L{x - 2:.0f},33 M{x - 6:.0f},29 L{x - 2:.0f},33 '
                       f'L{x - 6:.0f},37"/>')
        out.append(f'<rect data-chain="{escape(name)}" x="{x:.0f}" y="24" width="{w}" height="18" rx="3"/>'
                   f'<text x="{x + 5:.0f}" y="37">{escape(name)}</text>')
        x += w + 18
    out.append("</g>")
    return out
