"""The `abiguard` command line: a click group whose subcommands load only when used."""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import TextIO

import click

from .errors import AbiguardError, CacheWarning, UnknownName

# Subcommands live in their own modules and import heavy readers lazily, so start-up stays fast.
_COMMANDS = {
    "layout": "abiguard.commands.layout:layout",
    "users": "abiguard.commands.users:users",
    "diff": "abiguard.commands.diff:diff",
    "core": "abiguard.commands.core:core",
    "snapshot": "abiguard.commands.snapshot:snapshot",
    "fleet": "abiguard.commands.fleet:fleet",
}
# The option that names each kind of thing the API reports as unknown (errors.UnknownName.what).
_OPTION_OF = {"architecture": "--arch", "type": "--type", "format": "--format", "kernel selection": "--select"}
# Listed in --help without importing each command module.
_SUMMARIES = {
    "layout": "Show a type's memory layout (pahole-style) per architecture.",
    "users": "List the types that embed a type by value, and those that only point at it.",
    "diff": "Compare two versions of an ABI and report what breaks, where and why.",
    "core": "Check offline whether BPF programs' CO-RE relocations resolve on given kernels.",
    "snapshot": "Save a source's per-arch types to a file, a baseline for later diffs.",
    "fleet": "Index many kernels' BTF once (deduplicated, on Dask), for core --fleet.",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, _SUMMARIES[name]) for name in self.list_commands(ctx)])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="abiguard")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Catch C ABI breaks on every CPU architecture at once.

    Exit codes: 0 no breaking change, 1 breaking change found, 2 error.
    """
    ctx.obj = {"debug": debug}


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """abiguard's own warnings (an unwritable cache) as one `abiguard: warning:` line; others as Python shows them."""
    if issubclass(category, CacheWarning):
        click.echo(f"abiguard: warning: {message}", err=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line on stderr and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    warnings.showwarning = _show_warning
    debug = "--debug" in args
    try:
        rc = cli.main(args=args, prog_name="abiguard", standalone_mode=False)
    except AbiguardError as e:
        if debug:
            raise
        if isinstance(e, UnknownName) and e.where is None and e.what in _OPTION_OF:
            e = AbiguardError(_OPTION_OF[e.what], e.message)
        click.echo(f"abiguard: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("abiguard: error: aborted", err=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("abiguard: error: interrupted", err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(2)
    except Exception as e:  # a bug of ours must still end in one line and exit 2, not a traceback
        if debug:
            raise
        click.echo(f"abiguard: error: internal error: {type(e).__name__}: {e} (rerun with --debug)", err=True)
        sys.exit(2)
    sys.exit(rc if isinstance(rc, int) else 0)
