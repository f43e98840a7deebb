"""`victim-intake estimate`: multiple-systems estimate of the total number of victims.

Reads the overlap of source kinds among distinct persons from the warehouse (`--from/--to`) or a
published overlap table (`--overlap FILE`), and prints the independence and stepwise estimates
with their intervals. Everything printed is an aggregate count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from victim_intake.settings import database_url, redact_url

if TYPE_CHECKING:
    import pandas as pd

    from estimation import MSEReport, OverlapTable

# `estimation` pulls in scipy and statsmodels (seconds to import), and pandas alone takes a third
# of a second; every other command of the command line would pay for them, so they are imported
# inside the functions that need them.

OverlapSource = Callable[[int, int], "pd.DataFrame"]
"""Gives the overlap table (one 0/1 column per list plus `count`) for years `from`..`to`."""


class WarehouseError(RuntimeError):
    """The warehouse cannot be read (missing database, unreachable server)."""


def warehouse_overlap(year_from: int, year_to: int) -> pd.DataFrame:
    """Overlap of source kinds in the warehouse at `VICTIM_INTAKE_DATABASE_URL`."""
    from estimation import overlap_from_registrations

    url = database_url()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        # The URL may hold a password: do not repeat it.
        raise WarehouseError("VICTIM_INTAKE_DATABASE_URL is not a valid database URL") from exc
    database = parsed.database or ""
    # Connecting to a missing SQLite file would create an empty one: refuse instead.
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        if not database.startswith("file:") and not Path(database).exists():
            raise WarehouseError(
                f"no warehouse at {database}; load registrations first (victim-intake run) or "
                "set VICTIM_INTAKE_DATABASE_URL"
            )
    try:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                return overlap_from_registrations(connection, year_from, year_to)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise WarehouseError(f"cannot read registrations from {redact_url(url)}: {detail}") from exc


def make_estimate_command(overlap_source: OverlapSource = warehouse_overlap) -> Callable[..., None]:
    """The `estimate` command, reading warehouse overlaps through `overlap_source`."""

    def estimate(
        year_from: Annotated[
            int | None, typer.Option("--from", help="First registration year (with --to).")
        ] = None,
        year_to: Annotated[
            int | None, typer.Option("--to", help="Last registration year, inclusive.")
        ] = None,
        overlap: Annotated[
            Path | None,
            typer.Option(
                "--overlap",
                help="Published overlap table (CSV: one 0/1 column per list plus 'count').",
                exists=True,
                dir_okay=False,
                readable=True,
            ),
        ] = None,
        bootstrap: Annotated[
            int,
            typer.Option(
                "--bootstrap", min=0, help="Bootstrap replicates for the BCa interval (0: skip)."
            ),
        ] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 1,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of a table.")
        ] = False,
    ) -> None:
        """Estimate the total number of victims, seen and unseen, by multiple-systems estimation.

        Fits the independence log-linear model and SparseMSE's stepwise model (p < 0.02).
        Conditional interval: Wald interval on the log dark figure, the model taken as given.
        BCa interval: the model selection is repeated in every bootstrap replicate.
        Warns when lists barely overlap or the two models differ by more than a factor 1.5.
        """
        from estimation import EstimationError, estimate_population

        errors = Console(stderr=True, soft_wrap=True)
        table, source = _load_table(errors, overlap, year_from, year_to, overlap_source)
        try:
            with errors.status(f"Estimating ({bootstrap} bootstrap replicates)..."):
                report = estimate_population(table, replicates=bootstrap, seed=seed)
        except EstimationError as exc:
            _fail(errors, f"no estimate: {exc}")
        if json_output:
            typer.echo(json.dumps({"source": source, **report.to_dict()}, indent=2))
        else:
            _print_report(Console(), report, source)

    return estimate


estimate = make_estimate_command()


def _load_table(
    errors: Console,
    overlap: Path | None,
    year_from: int | None,
    year_to: int | None,
    overlap_source: OverlapSource,
) -> tuple[OverlapTable, dict[str, Any]]:
    from estimation import OverlapTable, OverlapTableError, read_overlap_csv

    years_given = year_from is not None or year_to is not None
    if overlap is not None and years_given:
        raise typer.BadParameter("use either --overlap FILE or --from/--to, not both")
    if overlap is not None:
        try:
            return read_overlap_csv(overlap), {"overlap_file": str(overlap)}
        except OverlapTableError as exc:
            _fail(errors, f"invalid overlap table {overlap}: {exc}")
    if year_from is None or year_to is None:
        raise typer.BadParameter("give --from and --to (registration years), or --overlap FILE")
    if year_from > year_to:
        raise typer.BadParameter(f"--from {year_from} is after --to {year_to}")
    try:
        frame = overlap_source(year_from, year_to)
    except WarehouseError as exc:
        _fail(errors, str(exc))
    kinds = [name for name in frame.columns if name != "count"]
    if len(kinds) < 2:
        found = f" ({', '.join(kinds)})" if kinds else ""
        _fail(
            errors,
            "MSE needs at least two lists that share persons; linkable registrations of "
            f"{year_from}-{year_to} come from {len(kinds)} source kind(s){found}",
        )
    try:
        return OverlapTable.from_frame(frame), {"registration_years": [year_from, year_to]}
    except OverlapTableError as exc:
        _fail(errors, f"registrations of {year_from}-{year_to}: {exc}")


def _fail(errors: Console, message: str) -> NoReturn:
    errors.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)


def _print_report(console: Console, report: MSEReport, source: dict[str, Any]) -> None:
    from estimation.intervals import BCA_METHOD, CONDITIONAL_METHOD

    where = (
        f"registrations {source['registration_years'][0]}-{source['registration_years'][1]}"
        if "registration_years" in source
        else source["overlap_file"]
    )
    independence, stepwise = report.independence, report.stepwise
    level = f"{report.level:.0%}"
    # One column per model keeps the table inside 80 columns; only the terms need to wrap.
    table = Table(title=f"Multiple-systems estimate ({escape(where)})")
    table.add_column("")
    table.add_column("Independence", justify="right", min_width=15)
    table.add_column(f"Stepwise (p < {report.threshold})", justify="right", min_width=15)
    terms = [f"{name}*" if name in stepwise.empty_pairs else name for name in stepwise.pairs]
    table.add_row("Two-list terms", "none", escape(", ".join(terms)) or "none")
    table.add_row("Total", f"{independence.total:,.0f}", f"{stepwise.total:,.0f}")
    table.add_row("Dark figure", f"{independence.dark_figure:,.0f}", f"{stepwise.dark_figure:,.0f}")
    table.add_row(
        f"{level} conditional",
        _interval(independence.conditional_interval),
        _interval(stepwise.conditional_interval),
    )
    table.add_row(f"{level} BCa bootstrap", "-", _bca(report))

    notes = [
        f"{report.observed:,} persons observed on {len(report.lists)} lists "
        f"({escape(', '.join(report.lists))}), {report.on_several_lists:,} of them on two or more."
    ]
    if stepwise.empty_pairs:
        notes.append("* No person on both lists: fitted as a structural zero.")
    notes.append(f"Conditional interval: {CONDITIONAL_METHOD}.")
    if report.bootstrap is not None:
        bootstrap = report.bootstrap
        notes.append(
            f"BCa interval ({len(bootstrap.replicates)} replicates, seed {bootstrap.seed}): "
            f"{BCA_METHOD}."
        )
    notes += [f"[yellow]Warning:[/] {escape(warning)}" for warning in report.warnings]
    console.print(table)
    for note in notes:
        console.print(note, highlight=False, soft_wrap=True)


def _interval(interval: tuple[float, float]) -> str:
    return f"{interval[0]:,.0f}-{interval[1]:,.0f}"


def _bca(report: MSEReport) -> str:
    if report.bootstrap is None:
        return "not run"
    if report.bootstrap.interval is None:
        return "undefined"
    return _interval(report.bootstrap.interval)
