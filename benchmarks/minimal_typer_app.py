#!/usr/bin/env python3
"""The smallest Typer application shaped like `ipt-notes`: the yardstick for its start-up time.

    python benchmarks/minimal_typer_app.py --help
    python benchmarks/minimal_typer_app.py --version

One `typer.Typer()` with a `--version` option whose eager callback prints a line, and one
command. Whatever `ipt-notes --help` or `ipt-notes --version` costs beyond this is the cost of
ipt-notes itself rather than of Python, Click and Typer.
"""

from typing import Annotated

import typer

app = typer.Typer()


def _show_version(value: bool) -> None:
    if value:
        typer.echo("minimal 0.0.0")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    pass


@app.command()
def hello(name: Annotated[str, typer.Argument(help="Who to greet.")] = "world") -> None:
    """Print a greeting."""
    typer.echo(f"hello {name}")


if __name__ == "__main__":
    app()
