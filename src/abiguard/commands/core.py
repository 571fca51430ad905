"""`abiguard core`: will these BPF objects load on those kernels?"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("core")
@click.argument("objects", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--kernel",
    "kernels",
    multiple=True,
    metavar="SOURCE",
    help="Kernel: BTF (raw or ELF), vmlinuz, linux-image .deb, module .ko (with --base), directory, "
    "or BTFHub .btf.tar.xz (repeatable; default: running kernel).",
)
@click.option("--base", type=click.Path(dir_okay=False), help="Base kernel (BTF, vmlinuz, .deb) of module BTF.")
@click.option(
    "--fleet",
    "fleet_index",
    type=click.Path(dir_okay=False),
    help="Check against every kernel of this index (abiguard fleet build) instead of --kernel.",
)
@click.option("--select", metavar="KEY=GLOB,...", help="With --fleet: only kernels whose distro/arch/release match.")
@click.option(
    "--relocations-only",
    is_flag=True,
    help="Only resolve CO-RE relocations (what --fleet indexes hold); skip the other load checks.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also show the value every successful relocation produces.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache (archives, results).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
def core(
    objects: tuple[str, ...],
    kernels: tuple[str, ...],
    base: str | None,
    fleet_index: str | None,
    select: str | None,
    relocations_only: bool,
    fmt: str,
    verbose: bool,
    no_cache: bool,
    output: str | None,
) -> int:
    """Will PROG.bpf.o load on those kernels? Offline, from kernel BTF: CO-RE relocations as libbpf resolves
    them, helpers, kfuncs and ksyms, program and attach types, attach targets, maps, global data, context layouts.

    Verdict per object and kernel: loads, fails, or unknown (BTF cannot decide). Kernels with the same
    verdict are grouped. Exit codes: 0 nothing fails (some may be unknown), 1 some object fails on some kernel,
    2 error.
    """
    from .. import api
    from ..report.bpf import RENDERERS
    from .common import write_output

    if fleet_index:
        if kernels or base:
            raise click.UsageError("--fleet replaces --kernel and --base: give one or the other")
        result = api.check_core(objects, fleet=fleet_index, select=select, load_checks=not relocations_only)
    elif select:
        raise click.UsageError("--select needs --fleet")
    else:
        result = api.check_core(objects, kernels, base, use_cache=not no_cache, load_checks=not relocations_only)
    text = RENDERERS[fmt](result, verbose)
    write_output(text, Path(output) if output else None)
    return 0 if result.ok else 1
