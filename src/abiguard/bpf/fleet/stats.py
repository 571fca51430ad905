"""What `abiguard fleet info` says about an index: kernels, arches, sizes, deduplication."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .format import FleetFile


@dataclass(frozen=True)
class FleetStats:
    path: str
    index_bytes: int
    btf_bytes: int  # the kernels' raw BTF, added up, their modules' included
    module_btf_bytes: int  # of which the modules' split BTF
    kernel_types: int  # type ids over all kernels and their modules
    records: int  # distinct records stored
    kernels: tuple[dict[str, object], ...]

    @property
    def arches(self) -> list[str]:
        return sorted({str(k.get("arch", "")) for k in self.kernels})

    @property
    def dedup_ratio(self) -> float:
        """Type ids per stored record: how many kernels' types each record stands for."""
        return self.kernel_types / self.records if self.records else 0.0

    @property
    def size_ratio(self) -> float:
        """Index bytes per raw BTF byte."""
        return self.index_bytes / self.btf_bytes if self.btf_bytes else 0.0


def fleet_stats(f: FleetFile) -> FleetStats:
    kernels = tuple(f.kernels)

    def total(key: str) -> int:
        return sum(int(k.get(key, 0)) for k in kernels)  # type: ignore[call-overload]

    return FleetStats(
        path=str(f.path),
        index_bytes=f.size,
        btf_bytes=total("btf_bytes") + total("module_btf_bytes"),
        module_btf_bytes=total("module_btf_bytes"),
        kernel_types=total("types") + total("module_types"),
        records=f.record_count,
        kernels=kernels,
    )


def render_stats(s: FleetStats, fmt: str) -> str:
    if fmt == "json":
        doc = {
            **{k: v for k, v in asdict(s).items() if k != "kernels"},
            "arches": s.arches,
            "dedup_ratio": round(s.dedup_ratio, 3),
            "size_ratio": round(s.size_ratio, 5),
            "kernels": [dict(sorted(k.items())) for k in s.kernels],
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    lines = [
        f"fleet index {s.path}",
        f"  kernels      {len(s.kernels)}",
        f"  arches       {', '.join(s.arches) or '-'}",
        f"  index        {s.index_bytes:,} bytes ({100 * s.size_ratio:.3g}% of {s.btf_bytes:,} bytes of raw BTF"
        + (f", {s.module_btf_bytes:,} of them modules')" if s.module_btf_bytes else ")"),
        f"  types        {s.kernel_types:,} over all kernels, {s.records:,} distinct records stored",
        f"  dedup ratio  {s.dedup_ratio:.1f} kernel types per stored record",
        "",
    ]
    rows = [("kernel", "release", "distro", "arch", "types", "BTF bytes", "modules")]
    for k in s.kernels:
        rows.append(
            (str(k["name"]), str(k.get("release", "")), str(k.get("distro", "")), str(k.get("arch", "")),
             f"{int(k.get('types', 0)):,}", f"{int(k.get('btf_bytes', 0)):,}",  # type: ignore[call-overload]
             f"{int(k.get('module_count', 0)):,}" if k.get("modules") else "-")  # type: ignore[call-overload]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"
