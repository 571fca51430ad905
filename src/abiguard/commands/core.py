"""`abiguard core`: will these BPF objects' CO-RE relocations resolve on those kernels?"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import AbiguardError


@click.command("core")
@click.argument("objects", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--kernel",
    "kernels",
    multiple=True,
    metavar="SOURCE",
    help="Kernel BTF: raw or ELF file, directory, or BTFHub .btf.tar.xz (repeatable; default: running kernel).",
)
@click.option("--base", type=click.Path(dir_okay=False), help="Base (vmlinux) BTF for module split BTF kernels.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also show the value every successful relocation produces.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache (archives, results).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
def core(
    objects: tuple[str, ...],
    kernels: tuple[str, ...],
    base: str | None,
    fmt: str,
    verbose: bool,
    no_cache: bool,
    output: str | None,
) -> int:
    """Resolve PROG.bpf.o CO-RE relocations offline against kernel BTFs, as libbpf would.

    Exit codes: 0 every object relocates on every kernel, 1 some do not, 2 error.
    """
    from ..core.cache import Cache
    from ..core.check import check_object
    from ..core.kernels import DEFAULT_KERNEL, load_kernels
    from ..core.objfile import read_object
    from ..core.report import RENDERERS
    from .common import write_output

    sources = list(kernels)
    if not sources:
        if not DEFAULT_KERNEL.exists():
            raise AbiguardError(DEFAULT_KERNEL, "no --kernel given and this kernel exposes no BTF")
        sources = [str(DEFAULT_KERNEL)]
    objs = [read_object(Path(o)) for o in objects]
    cache = Cache(enabled=not no_cache)
    targets = load_kernels(sources, Path(base) if base else None, cache)
    by_kernel = []
    for k in targets:  # kernel by kernel, so only one parsed kernel is alive at a time
        by_kernel.append([check_object(obj, k, cache) for obj in objs])
        k.release()
    verdicts = [by_kernel[ki][oi] for oi in range(len(objs)) for ki in range(len(targets))]
    names = [str(o.path) for o in objs]
    labels = list(dict.fromkeys(k.name for k in targets))
    text = RENDERERS[fmt](verdicts, names, labels, verbose)
    write_output(text, Path(output) if output else None)
    return 0 if all(v.ok for v in verdicts) else 1
