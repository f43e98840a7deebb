"""`victim-intake estimate`: multiple-systems estimate of the total number of victims.

Reads the overlap of source kinds among distinct persons from the warehouse (`--from/--to`) or a
published overlap table (`--overlap FILE`), and prints the independence and stepwise estimates
with their intervals; with options, the covariate model, one estimate per year and the
sensitivity table (docs/estimation.md). Everything printed is an aggregate count, and strata of
fewer than `--min-cell` persons are only shown together.
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

from config.settings import current

if TYPE_CHECKING:
    import pandas as pd

    from estimation import MSEReport

# `estimation` pulls in scipy and statsmodels (seconds to import), and pandas alone takes a third
# of a second; every other command of the command line would pay for them, so they are imported
# inside the functions that need them.

OverlapSource = Callable[[int, int], "pd.DataFrame"]
"""Gives the overlap table (one 0/1 column per list plus `count`) for years `from`..`to`."""
StratifiedSource = Callable[[int, int, tuple[str, ...], bool], "pd.DataFrame"]
"""Gives the overlap table by covariates (and by registration year when the flag is set)."""


class WarehouseError(RuntimeError):
    """The warehouse cannot be read (missing database, unreachable server)."""


def warehouse_overlap(year_from: int, year_to: int) -> pd.DataFrame:
    """Overlap of source kinds in the warehouse at `VICTIM_INTAKE_DATABASE_URL`."""
    from estimation import overlap_from_registrations

    return _read_warehouse(lambda connection: overlap_from_registrations(connection, year_from, year_to))


def warehouse_stratified_overlap(year_from: int, year_to: int, covariates: tuple[str, ...], per_year: bool) -> pd.DataFrame:
    """Overlap of source kinds by covariates (and year) in the warehouse."""
    from estimation.overlap import stratified_overlap_from_registrations

    return _read_warehouse(lambda connection: stratified_overlap_from_registrations(connection, year_from, year_to, covariates, per_year))


def _read_warehouse(read: Callable[[Any], pd.DataFrame]) -> pd.DataFrame:
    settings = current()
    url = settings.warehouse_url
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
                return read(connection)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise WarehouseError(f"cannot read registrations from {settings.shown_warehouse_url}: {detail}") from exc


def make_estimate_command(
    overlap_source: OverlapSource = warehouse_overlap, stratified_source: StratifiedSource = warehouse_stratified_overlap
) -> Callable[..., None]:
    """The `estimate` command, reading warehouse overlaps through `overlap_source` (lists alone)
    and `stratified_source` (by covariates or by year)."""

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
                help="Published overlap table (CSV: one 0/1 column per list plus 'count', and any --covariates columns).",
                exists=True,
                dir_okay=False,
                readable=True,
            ),
        ] = None,
        covariates: Annotated[
            str | None,
            typer.Option(
                "--covariates",
                help="Also fit the model with these covariates, comma-separated: from the warehouse gender, minor, dutch, form, age_group; "
                "with --overlap, columns of the file.",
            ),
        ] = None,
        by_year: Annotated[
            bool, typer.Option("--by-year", help="One estimate per registration year (warehouse only), beside the pooled one.")
        ] = False,
        sensitivity: Annotated[
            bool, typer.Option("--sensitivity", help="A table of the estimate under other models and with each list left out.")
        ] = False,
        merge: Annotated[
            list[str] | None, typer.Option("--merge", help="Merge lists into one, e.g. --merge nla,kmar (repeatable).")
        ] = None,
        omit: Annotated[list[str] | None, typer.Option("--omit", help="Leave a list out (repeatable).")] = None,
        min_cell: Annotated[
            int, typer.Option("--min-cell", min=1, help="Strata with fewer persons are shown only together with others.")
        ] = 10,
        bootstrap: Annotated[
            int,
            typer.Option(
                "--bootstrap", min=0, help="Bootstrap replicates for the BCa interval (0: skip)."
            ),
        ] = 1000,
        covariate_bootstrap: Annotated[
            int,
            typer.Option(
                "--covariate-bootstrap",
                min=0,
                help="Bootstrap replicates for the covariate model's interval (0: skip); each repeats its stepwise selection, about a second.",
            ),
        ] = 100,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 1,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of a table.")
        ] = False,
    ) -> None:
        """Estimate the total number of victims, seen and unseen, by multiple-systems estimation.

        Fits the independence log-linear model and SparseMSE's stepwise model (p < 0.02).
        With --covariates also the stepwise model with covariates (list x covariate terms).
        With --by-year one estimate per registration year; with --sensitivity a table of other models.
        Conditional interval: Wald interval on the log dark figure, the model taken as given.
        BCa interval: the model selection is repeated in every bootstrap replicate.
        Warns when lists barely overlap or the two models differ by more than a factor 1.5.
        """
        from threadpoolctl import threadpool_limits

        from estimation import EstimationError, OverlapTable, OverlapTableError, estimate_population
        from estimation.by_year import estimate_by_year
        from estimation.covariate_report import estimate_with_covariates
        from estimation.strata import StratifiedTable

        errors = Console(stderr=True, soft_wrap=True)
        chosen = _names(covariates)
        if by_year and overlap is not None:
            raise typer.BadParameter("--by-year needs the warehouse (--from/--to), not --overlap")
        frame, source = _load_frame(errors, overlap, year_from, year_to, chosen, overlap_source, stratified_source)
        changes = [("merge", _names(group)) for group in merge or []] + [("omit", _names(name)) for name in omit or []]
        missing = [name for name in chosen if name not in frame.columns]
        if missing:
            _fail(errors, f"{_where(source)}: covariate column(s) {', '.join(missing)} not in the table")
        try:
            frame = _change_lists(frame, chosen, changes)
            table = OverlapTable.from_frame(frame.drop(columns=list(chosen)))
            stratified = StratifiedTable.from_frame(frame, chosen) if chosen else None
        except OverlapTableError as exc:
            _fail(errors, f"{_where(source)}: {exc}")
        if changes:
            source["lists_changed"] = [f"{kind} {','.join(names)}" for kind, names in changes]
        try:
            # Many small fits: BLAS threads only fight each other over them (see pyproject.toml).
            with errors.status(f"Estimating ({bootstrap} bootstrap replicates)..."), threadpool_limits(limits=1, user_api="blas"):
                report = estimate_population(table, replicates=bootstrap, seed=seed)
                output: dict[str, Any] = {"source": source, **report.to_dict()}
                if stratified is not None:
                    try:
                        found = estimate_with_covariates(stratified, replicates=covariate_bootstrap, seed=seed, min_cell=min_cell)
                        output["covariates"] = found.to_dict()
                    except EstimationError as exc:
                        # The list-only figures stand; the covariate model's failure is reported beside them.
                        output["covariates"] = {"covariates": list(chosen), "error": str(exc)}
                if by_year:
                    first, last = source["registration_years"]
                    yearly = _yearly_frame(errors, stratified_source, first, last, chosen, changes)
                    years = estimate_by_year(yearly, chosen, replicates=bootstrap, covariate_replicates=covariate_bootstrap, seed=seed, min_cell=min_cell)
                    output["by_year"] = [year.to_dict() for year in years]
                if sensitivity:
                    from estimation.sensitivity import sensitivity_rows

                    output["sensitivity"] = [row.to_dict() for row in sensitivity_rows(table, stratified)]
        except EstimationError as exc:
            _fail(errors, f"no estimate: {exc}")
        if json_output:
            typer.echo(json.dumps(output, indent=2))
        else:
            _print_report(Console(), report, source)
            console = Console()
            if "covariates" in output:
                _print_covariates(console, output["covariates"])
            if "by_year" in output:
                _print_by_year(console, output)
            if "sensitivity" in output:
                _print_sensitivity(console, output["sensitivity"])

    return estimate


estimate = make_estimate_command()


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def _load_frame(
    errors: Console,
    overlap: Path | None,
    year_from: int | None,
    year_to: int | None,
    covariates: tuple[str, ...],
    overlap_source: OverlapSource,
    stratified_source: StratifiedSource,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from estimation import OverlapTableError
    from estimation.table import frame_from_csv

    years_given = year_from is not None or year_to is not None
    if overlap is not None and years_given:
        raise typer.BadParameter("use either --overlap FILE or --from/--to, not both")
    if overlap is not None:
        try:
            frame = frame_from_csv(overlap)
        except OverlapTableError as exc:
            _fail(errors, f"invalid overlap table {overlap}: {exc}")
        return frame, {"overlap_file": str(overlap)}
    if year_from is None or year_to is None:
        raise typer.BadParameter("give --from and --to (registration years), or --overlap FILE")
    if year_from > year_to:
        raise typer.BadParameter(f"--from {year_from} is after --to {year_to}")
    try:
        frame = stratified_source(year_from, year_to, covariates, False) if covariates else overlap_source(year_from, year_to)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except WarehouseError as exc:
        _fail(errors, str(exc))
    kinds = [name for name in frame.columns if name != "count" and name not in covariates]
    if len(kinds) < 2:
        found = f" ({', '.join(kinds)})" if kinds else ""
        _fail(
            errors,
            "MSE needs at least two lists that share persons; linkable registrations of "
            f"{year_from}-{year_to} come from {len(kinds)} source kind(s){found}",
        )
    return frame, {"registration_years": [year_from, year_to]}


def _yearly_frame(
    errors: Console, source: StratifiedSource, year_from: int, year_to: int, covariates: tuple[str, ...], changes: list[tuple[str, tuple[str, ...]]]
) -> pd.DataFrame:
    from estimation import OverlapTableError
    from estimation.overlap import YEAR_COLUMN

    try:
        frame = source(year_from, year_to, covariates, True)
        return _change_lists(frame, (*covariates, YEAR_COLUMN), changes)
    except WarehouseError as exc:
        _fail(errors, str(exc))
    except OverlapTableError as exc:
        _fail(errors, f"registrations by year: {exc}")


def _change_lists(frame: pd.DataFrame, other_columns: tuple[str, ...], changes: list[tuple[str, tuple[str, ...]]]) -> pd.DataFrame:
    from estimation.lists import merge_lists, omit_lists

    for kind, names in changes:
        lists = [name for name in frame.columns if name != "count" and name not in other_columns]
        frame = merge_lists(frame, list(names), lists) if kind == "merge" else omit_lists(frame, list(names), lists)
    return frame


def _where(source: dict[str, Any]) -> str:
    if "registration_years" in source:
        return f"registrations of {source['registration_years'][0]}-{source['registration_years'][1]}"
    return f"invalid overlap table {source['overlap_file']}"


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


def _print_covariates(console: Console, found: dict[str, Any]) -> None:
    if "error" in found:
        console.print(f"[yellow]Warning:[/] no estimate with covariates ({escape(', '.join(found['covariates']))}): {escape(found['error'])}", highlight=False)
        return
    table = Table(title=f"With covariates ({escape(', '.join(found['covariates']))}; {found['strata']} strata)")
    table.add_column("")
    table.add_column("Covariate model", justify="right", min_width=15)
    table.add_row("Total", f"{found['estimate']:,.0f}")
    table.add_row("Dark figure", f"{found['dark_figure']:,.0f}")
    table.add_row("95% conditional", _interval(tuple(found["conditional_interval"])))
    bca = "not run" if found["bootstrap"] is None else ("undefined" if found["bca_interval"] is None else _interval(tuple(found["bca_interval"])))
    table.add_row("95% BCa bootstrap", bca)
    console.print(table)
    console.print(f"Terms: {escape(' + '.join(found['model']))}", highlight=False, soft_wrap=True)
    strata = Table(title=f"By stratum (strata of fewer than {found['min_cell']} persons only together)")
    strata.add_column("Stratum")
    strata.add_column("Observed", justify="right")
    strata.add_column("Estimate", justify="right")
    for row in found["by_stratum"]:
        strata.add_row(escape(row["stratum"]), f"{row['observed']:,}", f"{row['estimate']:,.0f}")
    console.print(strata)
    for note in found["sparse"]:
        console.print(f"Sparse: {escape(note)}.", highlight=False, soft_wrap=True)
    for warning in found["warnings"]:
        console.print(f"[yellow]Warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)


def _print_by_year(console: Console, output: dict[str, Any]) -> None:
    with_covariates = any("covariates" in year for year in output["by_year"])
    table = Table(title="By registration year (each year a population of its own)")
    for name in ("Year", "Observed", "Independence", "Stepwise", "95% conditional", *(["Covariates"] if with_covariates else [])):
        table.add_column(name, justify="right")
    for year in output["by_year"]:
        if "stepwise" not in year:
            table.add_row(str(year["year"]), "-", escape(year["error"]), *([""] * (3 if with_covariates else 2)))
            continue
        covariate = [f"{year['covariates']['estimate']:,.0f}" if "covariates" in year else escape(year["error"] or "-")] if with_covariates else []
        stepwise = year["stepwise"]
        table.add_row(
            str(year["year"]),
            f"{year['observed']:,}",
            f"{year['independence']['estimate']:,.0f}",
            f"{stepwise['estimate']:,.0f}",
            _interval(tuple(stepwise["conditional_interval"])),
            *covariate,
        )
    first, last = output["source"]["registration_years"]
    pooled_covariates = [f"{output['covariates']['estimate']:,.0f}" if "covariates" in output else "-"] if with_covariates else []
    table.add_row(
        f"{first}-{last} pooled",
        f"{output['observed']:,}",
        f"{output['independence']['estimate']:,.0f}",
        f"{output['stepwise']['estimate']:,.0f}",
        _interval(tuple(output["stepwise"]["conditional_interval"])),
        *pooled_covariates,
    )
    console.print(table)
    console.print(
        "A person reported in several years counts once in the pooled figure and once in each of their years.",
        highlight=False,
        soft_wrap=True,
    )


def _print_sensitivity(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Sensitivity: the estimate under other models and lists")
    table.add_column("Model")
    table.add_column("Total", justify="right")
    table.add_column("95% interval", justify="right")
    table.add_column("Terms / note")
    for row in rows:
        total = "-" if row["estimate"] is None else f"{row['estimate']:,.0f}"
        interval = "-" if row["interval"] is None else _interval(tuple(row["interval"]))
        table.add_row(escape(row["model"]), total, interval, escape(row["note"]))
    console.print(table)
