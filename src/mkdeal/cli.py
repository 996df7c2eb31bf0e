"""The `mkdeal` command: a thin face over the package. No business logic lives here."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from mkdeal import __version__, logs
from mkdeal.activity.rewards import pounds
from mkdeal.errors import UserError
from mkdeal.settings import Settings, describe, load_settings

log = logging.getLogger("mkdeal.cli")
LONDON = ZoneInfo("Europe/London")


@dataclass
class Runtime:
    """What every command shares: "today", verbosity, and settings read on first use."""

    as_of: date
    log_level: int = logging.WARNING
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            logs.configure(self.log_level, self._settings.data_dir / "logs" / "mkdeal.log")
        return self._settings


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD.") from None


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        return value if isinstance(value, date) else _parse_date(value)


def output_format_option(for_people: str):
    """--format: `for_people` (the default) or json for other programs."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice([for_people, "json"]),
        default=for_people,
        show_default=True,
        help=f"{for_people} for reading, json for other programs.",
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--as-of",
    type=DateType(),
    help="The date to treat as today (default: today in Europe/London). "
    "Pin it for exact, repeatable runs.",
)
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening.")
@click.option("--debug", is_flag=True, help="Show debugging detail and tracebacks of errors.")
@click.version_option(__version__, prog_name="mkdeal")
@click.pass_context
def cli(ctx: click.Context, as_of: date | None, verbose: bool, debug: bool) -> None:
    """mkdeal: the MK Deal's shared platform for health and care in Milton Keynes.

    Settings come from MKDEAL_* environment variables or a mkdeal.toml file; see
    `mkdeal config`. Everything mkdeal writes lives in the data folder (MKDEAL_DATA_DIR).
    """
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logs.configure(level, None)
    # The clock is read here, at the edge, and nowhere in domain code.
    ctx.obj = Runtime(as_of=as_of or datetime.now(LONDON).date(), log_level=level)


@cli.command()
@click.pass_obj
def config(runtime: Runtime) -> None:
    """Show the settings in force, where each came from, and the key fingerprint.

    Secrets are never printed. The fingerprint names the pseudonymisation key without
    revealing it; every load records it, and a load under another key is refused.
    """
    settings = runtime.settings
    rows = describe(settings)
    width = max(len(name) for name, _, _ in rows)
    click.echo(f"Settings in force (config file: {settings.config_file or 'none'})")
    for name, value, source in rows:
        click.echo(f"  {name:<{width}}  {value}")
        click.echo(f"  {'':<{width}}    from {source}")
    fingerprint = settings.pseudonymisation_key_fingerprint or "none (no key)"
    click.echo(f"Pseudonymisation key fingerprint: {fingerprint}")
    settings.require_keys()


@cli.group()
def deal() -> None:
    """The MK Deal as data: partners, priorities, leads and measures."""


@deal.command("show")
@output_format_option("text")
def deal_show(output_format: str) -> None:
    """Print the Deal: its version, partners, priorities and aims."""
    from mkdeal.deal import deal_as_dict, load_deal, render_deal_text

    the_deal = load_deal()
    if output_format == "json":
        click.echo(json.dumps(deal_as_dict(the_deal), indent=2, ensure_ascii=False))
    else:
        click.echo(render_deal_text(the_deal))


@cli.group()
def db() -> None:
    """The app database and the identifiable store: migrations and status."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(runtime: Runtime) -> None:
    """Apply every migration the app database and the identifiable store need.

    Safe to run again: a store that is up to date is left as it is.
    """
    from mkdeal.db import upgrade

    for store, before, after in upgrade(runtime.settings):
        change = (
            "already up to date" if before == after else f"upgraded {before or 'empty'} -> {after}"
        )
        click.echo(f"{store.name.capitalize()}: {change}.")


@db.command("status")
@click.pass_obj
def db_status(runtime: Runtime) -> None:
    """Say whether each store is up to date with this version of mkdeal."""
    from mkdeal.db import status

    behind = False
    for store, current, head in status(runtime.settings):
        state = "up to date" if current == head else "behind: run `mkdeal db upgrade`"
        behind |= current != head
        click.echo(
            f"{store.name.capitalize()}: at {current or 'no revision'}, needs {head}; {state}."
        )
    if behind:
        raise click.exceptions.Exit(1)


@cli.command("run-due")
@click.option("--dry-run", is_flag=True, help="List what is due without doing it.")
@click.pass_obj
def run_due_command(runtime: Runtime, dry_run: bool) -> None:
    """Run whatever scheduled work is due, each piece once, in order.

    Production runs this from cron every five minutes. Two runs never overlap: a second
    one is refused while the first holds the lock. Safe to run again at any time.
    """
    from mkdeal.db import open_app_database
    from mkdeal.scheduling import StepContext, default_registry, plan, run_due

    settings = runtime.settings
    registry = default_registry()
    engine = open_app_database(settings)
    try:
        context = StepContext(as_of=runtime.as_of, settings=settings, app_engine=engine)
        if not registry.steps:
            click.echo("No scheduled steps are registered yet, so nothing is due.")
            return
        if dry_run:
            for work in plan(registry, context):
                due = ", ".join(work.keys) if work.keys else "nothing due"
                click.echo(f"{work.step}: {due}")
            return
        results = run_due(registry, context, data_dir=settings.data_dir, progress=click.echo)
        failed = [result for result in results if result.outcome == "failed"]
        click.echo(f"run-due finished: {len(results)} piece(s) of work, {len(failed)} failed.")
        if failed:
            raise click.exceptions.Exit(1)
    finally:
        engine.dispose()


@cli.command("runs")
@click.option("--limit", default=20, show_default=True, help="How many recent runs to show.")
@click.pass_obj
def runs_command(runtime: Runtime, limit: int) -> None:
    """Show the most recent scheduled runs and how each ended."""
    from mkdeal.db import open_app_database
    from mkdeal.scheduling import recent_runs

    engine = open_app_database(runtime.settings)
    try:
        runs = recent_runs(engine, limit)
    finally:
        engine.dispose()
    if not runs:
        click.echo("No scheduled work has run yet.")
    for run in runs:
        finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
        click.echo(
            f"{run.started_at.isoformat(timespec='seconds')}  {finished}  {run.outcome:<10}"
            f"  {run.step} [{run.idempotency_key}]  {run.summary or ''}"
        )


@cli.group()
def people() -> None:
    """People and keys: NHS numbers to person_id."""


@people.command("pseudonymise")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--column", default="nhs_number", show_default=True, help="The NHS number column.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the file with person_id in place of the NHS number.",
)
@click.option(
    "--quarantine",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write rows whose NHS number is not valid "
    "(default: beside the output, ending .quarantine.csv).",
)
@click.pass_obj
def people_pseudonymise(
    runtime: Runtime, source: Path, column: str, output: Path, quarantine: Path | None
) -> None:
    """Replace the NHS numbers in a CSV file with person_id.

    Rows with an invalid NHS number go to the quarantine file with the number masked, the
    row number and the reason. Every row read is written to one file or the other, and
    running it again on the same file with the same key gives the same files.
    """
    from mkdeal.people import Pseudonymiser
    from mkdeal.pseudonymise_file import pseudonymise_csv

    settings = runtime.settings
    settings.require_keys()
    quarantine = quarantine or output.with_name(output.stem + ".quarantine.csv")
    if output.resolve() in (source.resolve(), quarantine.resolve()):
        raise UserError("--output must differ from the source file and the quarantine file.")
    summary = pseudonymise_csv(
        source, column, output, quarantine, Pseudonymiser(settings.pseudonymisation_key)
    )
    click.echo(
        f"Read {summary.read} rows: wrote {summary.written} "
        f"({summary.people} {'person' if summary.people == 1 else 'people'}) to "
        f"{summary.output}, quarantined {summary.quarantined} in {summary.quarantine}. "
        f"Key fingerprint {summary.key_fingerprint}."
    )


@cli.group()
def datasets() -> None:
    """Dataset contracts: what each partner extract must contain."""


@datasets.command("list")
def datasets_list() -> None:
    """List the datasets mkdeal can load."""
    from mkdeal.datasets import DATASETS

    width = max(len(name) for name in DATASETS)
    for dataset in DATASETS.values():
        period = dataset.period_column or "no period: replaced whole per source"
        click.echo(f"{dataset.name:<{width}}  {dataset.title} ({dataset.kind}; period: {period})")


@datasets.command("show")
@click.argument("name")
@output_format_option("text")
def datasets_show(name: str, output_format: str) -> None:
    """Show one dataset's contract: columns, codes, key, period, checks and caveats."""
    from mkdeal.datasets import get_dataset
    from mkdeal.datasets.describe import dataset_as_dict, render_dataset_text

    dataset = get_dataset(name)
    if output_format == "json":
        click.echo(json.dumps(dataset_as_dict(dataset), indent=2, default=str))
    else:
        click.echo(render_dataset_text(dataset))


@datasets.command("sample")
@click.argument("name")
@click.option("--rows", type=click.IntRange(1, 50_000_000), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="CSV to write."
)
def datasets_sample(name: str, rows: int, seed: int, output: Path) -> None:
    """Write a CSV of the right shape for a dataset: a template, and test data.

    The rows are the contract's example row moved in time, with unique keys and NHS
    numbers from the 999 test range; they pass every check but are not realistic.
    """
    import pyarrow.csv as pa_csv

    from mkdeal.datasets import get_dataset
    from mkdeal.datasets.shaped import shaped_table

    output.parent.mkdir(parents=True, exist_ok=True)
    pa_csv.write_csv(shaped_table(get_dataset(name), rows, seed=seed), output)
    click.echo(f"Wrote {rows} rows of {name} to {output}.")


@datasets.command("docs")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("docs/datasets.md"),
    show_default=True,
    help="Where to write the generated datasets reference.",
)
def datasets_docs(output: Path) -> None:
    """Write the datasets reference (docs/datasets.md) from the contracts."""
    from mkdeal.datasets import DATASETS
    from mkdeal.datasets.describe import render_docs

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_docs(DATASETS), encoding="utf-8")
    click.echo(f"Wrote {output} ({len(DATASETS)} datasets).")


@cli.command("load")
@click.argument("dataset")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--source", required=True, help="The sending partner's ODS code (ONS code if none).")
@click.option("--period", help="START..END (dates, inclusive); default: the span of the file.")
@click.option("--agreement", help="The data sharing agreement (required in prod; dev: synthetic).")
@click.option(
    "--purpose",
    type=click.Choice(["direct-care", "planning", "research"]),
    help="Why the data is held (required in prod; dev: planning).",
)
@output_format_option("table")
@click.pass_obj
def load_command(
    runtime: Runtime,
    dataset: str,
    file: Path,
    source: str,
    period: str | None,
    agreement: str | None,
    purpose: str | None,
    output_format: str,
) -> None:
    """Check, pseudonymise and load one extract (CSV or Parquet) into the warehouse.

    Bad rows are quarantined with their row, field and reason; loaded + quarantined =
    read. The same file again changes nothing; a corrected file for the same source and
    period replaces that slice; an overlapping period from the same source is refused.
    """
    from mkdeal.datasets.load import load_file
    from mkdeal.datasets.staging import Period

    quiet = output_format == "json"
    result = load_file(
        runtime.settings,
        dataset,
        file,
        source=source,
        as_of=runtime.as_of,
        period=Period.parse(period) if period else None,
        agreement=agreement,
        purpose=purpose,
        progress=(lambda message: None)
        if quiet
        else (lambda message: click.echo(message, err=True)),
    )
    if quiet:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"Load {result.load_id}: {result.outcome}")
    click.echo(
        f"  dataset      {result.dataset} from {result.source}, period {result.period or 'none'}"
    )
    click.echo(f"  read         {result.read}")
    click.echo(f"  loaded       {result.loaded}")
    click.echo(f"  quarantined  {result.quarantined}")
    for reason in result.reasons:
        click.echo(f"    {reason['rows']:>8}  {reason['field']}: {reason['reason']}")
    if result.quarantined:
        click.echo(f"See the rows with `mkdeal quarantine show {result.load_id}`.")


@cli.group()
def deprivation() -> None:
    """The published English Indices of Deprivation, as area deprivation data."""


_INDEX_ARGUMENT = click.argument("index", type=click.Choice(["iod2025", "imd2019"]))
_INDEX_FILE_ARGUMENT = click.argument(
    "file", type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
_LOOKUP_OPTION = click.option(
    "--lookup",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="For imd2019: the ONS LSOA (2011) to LSOA (2021) to LAD (2022) exact-fit lookup CSV.",
)


def _convert_deprivation(index: str, file: Path, lookup: Path | None):
    from mkdeal.datasets.deprivation import convert

    converted = convert(index, file, lookup)
    click.echo(
        f"Read {converted.read:,} rows of {file.name}: {converted.areas:,} LSOA 2021 areas "
        f"({converted.merged:,} made from more than one 2011 area).",
        err=True,
    )
    for note in converted.notes:
        click.echo(note, err=True)
    return converted


@deprivation.command("convert")
@_INDEX_ARGUMENT
@_INDEX_FILE_ARGUMENT
@_LOOKUP_OPTION
@click.option(
    "--out",
    "--output",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The area_deprivation CSV to write.",
)
def deprivation_convert(index: str, file: Path, lookup: Path | None, out: Path) -> None:
    """Turn a published index file into an area_deprivation CSV, without loading it.

    INDEX is iod2025 (File 7, on LSOA 2021) or imd2019 (File 7 or File 1, on LSOA 2011,
    with --lookup). docs/adr/0005-deprivation-files.md gives the rule for merged areas.
    """
    from mkdeal.datasets.deprivation import write_contract_csv

    converted = _convert_deprivation(index, file, lookup)
    write_contract_csv(converted, out)
    click.echo(f"Wrote {out}.", err=True)


@deprivation.command("load")
@_INDEX_ARGUMENT
@_INDEX_FILE_ARGUMENT
@_LOOKUP_OPTION
@click.option(
    "--source",
    default="E06000042",
    show_default=True,
    help="The partner the load is recorded as coming from (ODS code, else ONS code).",
)
@click.option("--agreement", help="The data sharing agreement (required in prod).")
@click.option(
    "--purpose",
    type=click.Choice(["direct-care", "planning", "research"]),
    help="Why the data is held (required in prod; dev: planning).",
)
@click.pass_obj
def deprivation_load(
    runtime: Runtime,
    index: str,
    file: Path,
    lookup: Path | None,
    source: str,
    agreement: str | None,
    purpose: str | None,
) -> None:
    """Convert a published index file and load it as area deprivation.

    The converted CSV is kept in the data folder (imports/) and loaded like any extract:
    the same file again changes nothing, and a new file of the same index replaces only
    that index's rows, so IoD2025 and IMD 2019 stay side by side.
    """
    from mkdeal.datasets.deprivation import write_contract_csv
    from mkdeal.datasets.load import load_file
    from mkdeal.datasets.staging import file_sha256

    converted = _convert_deprivation(index, file, lookup)
    digest = file_sha256(file)[:12] + (f"_{file_sha256(lookup)[:8]}" if lookup else "")
    out = runtime.settings.data_dir / "imports" / f"area_deprivation_{index}_{digest}.csv"
    write_contract_csv(converted, out)
    result = load_file(
        runtime.settings,
        "area_deprivation",
        out,
        source=source,
        as_of=runtime.as_of,
        agreement=agreement,
        purpose=purpose,
        progress=lambda message: click.echo(message, err=True),
    )
    click.echo(
        f"Load {result.load_id}: {result.outcome}; read {result.read:,}, loaded "
        f"{result.loaded:,}, quarantined {result.quarantined:,}."
    )
    if result.quarantined:
        click.echo(f"See the rows with `mkdeal quarantine show {result.load_id}`.")


@cli.command("loads")
@click.option("--dataset", help="Only this dataset's loads.")
@click.pass_obj
def loads_command(runtime: Runtime, dataset: str | None) -> None:
    """List the loads in the warehouse, oldest first, with their counts and status."""
    from mkdeal.datasets.load import list_loads

    loads = list_loads(runtime.settings, dataset)
    if not loads:
        click.echo("Nothing has been loaded yet.")
    for load in loads:
        period = f"{load['period_start']}..{load['period_end']}" if load["period_start"] else "-"
        click.echo(
            f"{load['load_id']}  {load['status']:<9} {load['dataset']:<20} {load['source']:<9} "
            f"{period:<22} read {load['read']}, loaded {load['loaded']}, "
            f"quarantined {load['quarantined']}  {load['file_name']}"
        )


@cli.command("unload")
@click.argument("load_id")
@click.pass_obj
def unload_command(runtime: Runtime, load_id: str) -> None:
    """Remove one load's rows and quarantine from the warehouse (its manifest stays)."""
    from mkdeal.datasets.load import unload

    load = unload(runtime.settings, load_id)
    click.echo(f"Unloaded {load_id}: {load['loaded']} rows of {load['dataset']} removed.")


@cli.group()
def quarantine() -> None:
    """Rows that loads refused, with their reasons."""


@quarantine.command("show")
@click.argument("load_id")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many rows.")
@output_format_option("table")
@click.pass_obj
def quarantine_show(runtime: Runtime, load_id: str, limit: int, output_format: str) -> None:
    """List a load's quarantined rows: row number, field, reason; identifiers masked."""
    from mkdeal.datasets.load import quarantined_rows

    rows = quarantined_rows(runtime.settings, load_id, limit)
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"Load {load_id} quarantined no rows.")
    for row in rows:
        detail = f" ({row['detail']})" if row["detail"] else ""
        click.echo(f"row {row['row']}, {row['field']}: {row['reason']}{detail}")
        click.echo(f"    {row['record']}")


@cli.command("synth")
@click.option("--seed", default=0, show_default=True, help="The same seed gives the same files.")
@click.option("--start", type=DateType(), default="2019-04-01", show_default=True)
@click.option("--end", type=DateType(), help="Last day (default: --as-of).")
@click.option(
    "--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the files (default: synthetic/ in the data folder).",
)
@click.option(
    "--with-errors",
    type=click.FloatRange(0, 0.5),
    default=0.0,
    show_default=True,
    help="Share of rows given realistic faults (listed in faults.csv).",
)
@click.option("--load", "then_load", is_flag=True, help="Then load every file into the warehouse.")
@click.option(
    "--targets",
    "targets_to",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Only write the calibration targets (with sources) as Markdown to this file.",
)
@click.pass_obj
def synth(
    runtime: Runtime,
    seed: int,
    start: date,
    end: date | None,
    scale: float,
    out: Path | None,
    with_errors: float,
    then_load: bool,
    targets_to: Path | None,
) -> None:
    """Write a synthetic Milton Keynes: every dataset as a contract file, one per dataset.

    Nothing in it is real: NHS numbers are from the 999 test range, areas and practices
    have codes no real one uses. Files go into the warehouse only through loads (--load
    runs them). If the folder already holds the same set, it is not made again.
    """
    from mkdeal import synth as synthetic

    if targets_to is not None:
        from mkdeal.synth.targets import render_targets_markdown

        targets_to.write_text(render_targets_markdown(), encoding="utf-8")
        click.echo(f"Wrote the calibration targets to {targets_to}.")
        return
    settings = runtime.settings
    out = out or settings.data_dir / "synthetic"
    end = end or runtime.as_of
    wanted = synthetic.parameters(seed, start, end, scale, with_errors)
    if synthetic.is_current(out, wanted):
        click.echo(f"{out} already holds this synthetic Milton Keynes; not made again.")
    else:
        synthetic.generate(
            out,
            seed=seed,
            start=start,
            end=end,
            scale=scale,
            with_errors=with_errors,
            progress=click.echo,
        )
    if then_load:
        from mkdeal.datasets import get_dataset
        from mkdeal.datasets.load import load_file
        from mkdeal.datasets.staging import Period

        for name, source in synthetic.SOURCES.items():
            # The generator made every period from start to end in full, so the loads
            # declare that span: a quiet first or last day is a zero, not a gap.
            dataset = get_dataset(name)
            result = load_file(
                settings,
                name,
                out / f"{name}.csv",
                source=source,
                as_of=runtime.as_of,
                period=Period(start, end) if dataset.period_column else None,
                agreement="synthetic",
                purpose="planning",
            )
            click.echo(
                f"{result.load_id} {name:<22} {result.outcome:<10} read {result.read:>9,}  "
                f"loaded {result.loaded:>9,}  quarantined {result.quarantined:>6,}"
            )


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.pass_obj
def serve(runtime: Runtime, host: str, port: int) -> None:
    """Run the web service (the Deal's pages, sign-in, loads, audit log).

    It reads the app database and published snapshots, never the warehouse. Stop it
    with Ctrl+C.
    """
    import uvicorn

    from mkdeal.web.app import create_app

    app = create_app(runtime.settings)
    click.echo(f"mkdeal is serving the MK Deal's pages at http://{host}:{port}/ (Ctrl+C stops it).")
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False)


@cli.command("report")
@click.option(
    "--month",
    metavar="YYYY-MM",
    help="The month the report is for: it shows "
    "every period that ended by its last day. Needed unless --snapshot names a "
    "snapshot a report was already issued from.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["pdf", "html"]),
    default="pdf",
    show_default=True,
    help="PDF for printing on A4, or one self-contained HTML file.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Also write the report here (a file, or a folder to put it in).",
)
@click.option(
    "--snapshot",
    "snapshot_id",
    metavar="ID",
    help="Build from this published snapshot instead of the current one; with the month "
    "of a report issued from it, this rebuilds that report exactly.",
)
@click.pass_obj
def report_command(
    runtime: Runtime,
    month: str | None,
    output_format: str,
    out: Path | None,
    snapshot_id: str | None,
) -> None:
    """Write the MK Deal progress report for the board and the Joint Leadership Team.

    A summary of every Deal measure with its SPC icons and target, a section per priority
    with its charts and deprivation gap, what later loads revised since the last report,
    and a data-quality annex; every figure under the `nhs` disclosure policy. The report
    is kept under the data folder's reports/ (where the dashboard offers it to partners)
    and recorded with the snapshot it was built from. The day of issue is --as-of.
    """
    from mkdeal.reports.issue import make_report

    made = make_report(
        runtime.settings,
        month=month,
        fmt=output_format,
        today=runtime.as_of,
        snapshot_id=snapshot_id,
        out=out,
        progress=lambda message: click.echo(message, err=True),
    )
    what = f"the MK Deal progress report for {made.report.month_label}"
    where = made.out or made.path
    if not made.rebuilt:
        click.echo(
            f"Wrote {what} from snapshot {made.report.snapshot_id} to {where} "
            f"in {made.seconds:.1f} s."
        )
    elif made.same_as_issued is False:
        click.echo(
            f"Rebuilt {what} from snapshot {made.report.snapshot_id}, but it differs from the "
            f"copy issued on {made.report.issued_on:%-d %B %Y} ({made.path}); the issued copy "
            f"is kept as it was.{f' The rebuild is in {made.out}.' if made.out else ''}"
        )
    else:
        click.echo(
            f"Rebuilt {what} from snapshot {made.report.snapshot_id}: identical to the copy "
            f"issued on {made.report.issued_on:%-d %B %Y} ({where}), in {made.seconds:.1f} s."
        )
    if made.report.revisions:
        click.echo(
            f"It lists {len(made.report.revisions)} revised figure(s) since the report for "
            f"{made.report.compared_with['month']}."
        )


_SPC_FORMATS = ("json", "csv", "svg", "png")


def _spc_format(output_format: str | None, out: Path | None) -> str:
    """The --format given, else the --out file's suffix, else json."""
    if output_format:
        return output_format
    if out is not None:
        suffix = out.suffix.lower().lstrip(".")
        if suffix in _SPC_FORMATS:
            return suffix
        raise UserError(
            f"The output format cannot be told from {out.name}; give --format "
            f"({', '.join(_SPC_FORMATS)}) or end the file name in one of them."
        )
    return "json"


@cli.command("spc")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--date-col", required=True, help="The column of dates (YYYY-MM-DD).")
@click.option("--value-col", required=True, help="The column of values; a blank cell is a gap.")
@click.option("--facet-col", help="A column splitting the file into separate charts.")
@click.option(
    "--improvement",
    type=click.Choice(["increase", "decrease", "neutral"]),
    required=True,
    help="Which way is better; neutral if neither.",
)
@click.option("--target", type=float, help="A target, for the assurance icon.")
@click.option(
    "--rebase",
    "rebase",
    type=DateType(),
    multiple=True,
    help="Start new limits at the period holding this date. Repeat for several.",
)
@click.option(
    "--mode",
    type=click.Choice(["mdc", "plotthedots"]),
    default="mdc",
    show_default=True,
    help="mdc: NHS England's Making Data Count tool; plotthedots: NHSRplotthedots 0.2.2.",
)
@click.option(
    "--run-length",
    type=click.Choice(["6", "7"]),
    default="7",
    show_default=True,
    help="Points in a shift or trend (7: six rises in a row make a trend).",
)
@click.option(
    "--baseline-points",
    type=click.IntRange(12, None),
    help="Fix each segment's limits on its first N points (12 or more).",
)
@click.option(
    "--minimum-points",
    type=click.IntRange(2, None),
    default=12,
    show_default=True,
    help="Fewer points than this in a segment give trial limits and no icons.",
)
@click.option(
    "--freq",
    type=click.Choice(["auto", "day", "week", "month", "quarter", "year"]),
    default="auto",
    show_default=True,
    help="The period each date names; auto infers it from the dates.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(_SPC_FORMATS),
    help="json (default), csv, svg or png; without it, the --out file's suffix decides.",
)
@click.option(
    "--out",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The file to write; without it, standard output.",
)
@click.option("--title", default="", help="The chart's title.")
def spc_command(
    file: Path,
    date_col: str,
    value_col: str,
    facet_col: str | None,
    improvement: str,
    target: float | None,
    rebase: tuple[date, ...],
    mode: str,
    run_length: str,
    baseline_points: int | None,
    minimum_points: int,
    freq: str,
    output_format: str | None,
    out: Path | None,
    title: str,
) -> None:
    """Chart a dated series in NHS England's Making Data Count SPC style.

    Reads FILE (CSV with a header row) and writes, per point, the mean, process limits,
    two-sigma band and point type, and, per facet, the variation and assurance icons.
    JSON holds "points" and a "summary" per facet; CSV holds the points (icons are in
    JSON only); SVG and PNG draw the chart.

    \b
    Example:
      mkdeal spc examples/spc/handovers.csv --date-col month \\
        --value-col percent_over_30_minutes --improvement decrease \\
        --target 15 --out handovers.png
    """
    from mkdeal.spc import spc
    from mkdeal.spc.export import point_records, points_frame, summary_records
    from mkdeal.spc.series_file import FREQUENCIES, read_series_csv

    chosen = _spc_format(output_format, out)
    series = read_series_csv(
        file, date_col=date_col, value_col=value_col, facet_col=facet_col, freq=freq
    )
    result = spc(
        series.dates,
        series.values,
        improvement=improvement,
        target=target,
        rebase_dates=list(rebase),
        baseline_points=baseline_points,
        mode=mode,
        run_length=int(run_length),
        minimum_points=minimum_points,
        facets=series.facets,
        freq=FREQUENCIES[series.freq],
    )
    import pandas as pd

    def period(day: date):
        return pd.Period(day, freq=FREQUENCIES[series.freq])

    first, last = period(min(series.dates)), period(max(series.dates))
    for day in rebase:
        if not first < period(day) <= last:
            series.notes.append(
                f"The rebase date {day} is not after the first period ({first}) and within "
                f"the last ({last}), so it starts no new limits."
            )
    for note in series.notes:
        click.echo(f"Note: {note}", err=True)

    payload: str | bytes
    if chosen == "json":
        document = {
            "file": str(file),
            "settings": {
                "improvement": improvement,
                "target": target,
                "rebase": [d.isoformat() for d in rebase],
                "mode": mode,
                "run_length": int(run_length),
                "baseline_points": baseline_points,
                "minimum_points": minimum_points,
                "freq": series.freq,
            },
            "notes": series.notes,
            "summary": summary_records(result, target),
            "points": point_records(result, series.dates),
        }
        payload = json.dumps(document, indent=2) + "\n"
    elif chosen == "csv":
        frame = points_frame(result, series.dates)
        if facet_col is None:
            frame = frame.drop(columns="facet")
        payload = frame.to_csv(index=False, lineterminator="\n")
    else:
        from mkdeal.spc.chart import spc_chart, to_png, to_svg

        chart = spc_chart(
            result,
            improvement=improvement,
            title=title or file.stem.replace("_", " "),
            value_title=value_col.replace("_", " "),
            target=target,
        )
        payload = to_svg(chart) if chosen == "svg" else to_png(chart)

    facets = f" in {len(result.facets)} facets" if facet_col else ""
    _write_payload(payload, out, f"{chosen.upper()} of {len(series.values)} points{facets}")


@cli.group()
def measures() -> None:
    """The Deal's progress measures: definitions, figures, SPC charts."""


@measures.command("list")
@output_format_option("table")
def measures_list(output_format: str) -> None:
    """List the registered measures with their definitions and versions."""
    from mkdeal.measures import MEASURES

    if output_format == "json":
        click.echo(json.dumps([m.describe() for m in MEASURES.values()], indent=2))
        return
    for measure in MEASURES.values():
        target = ""
        if measure.target is not None:
            shown = measure.target.value * measure.display_scale
            target = (
                f"; {measure.target.kind} {shown:g}{measure.unit if measure.unit == '%' else ''}"
            )
        click.echo(f"{measure.id}  (v{measure.version}, {measure.value_type}, {measure.unit})")
        click.echo(f"    {measure.title}; better: {measure.improvement}{target}")
        click.echo(f"    Follows: {measure.definition.name} [{measure.definition.version}]")
        click.echo(f"    Breakdowns: {', '.join(measure.breakdowns) or 'none'}")


# The breakdowns measures can support (mkdeal.measures.definition.BREAKDOWNS), listed here
# so that `--help` does not import the measures.
BREAKDOWN_CHOICES = [
    "imd_decile",
    "imd_quintile",
    "age_band",
    "sex",
    "ethnic_group",
    "pcn",
    "site",
    "provider",
    "treatment_function",
    "pathway",
    "delay_reason",
    "delay_reason_group",
    "los_band",
    "ready_band",
]

_POLICY_OPTION = click.option(
    "--policy",
    type=click.Choice(["nhs", "opensafely", "none"]),
    default="nhs",
    show_default=True,
    help="Disclosure control: nhs (1-7 suppressed, others to the nearest 5) for anything "
    "shared; opensafely for research exports; none for analysts only.",
)


def _compute_measures(runtime, measure_ids, start, end, by, frequencies, policy):
    from mkdeal.measures import MEASURES, get_measure
    from mkdeal.measures.disclosure import control
    from mkdeal.measures.engine import compute
    from mkdeal.warehouse import open_warehouse_for_writing

    chosen = [get_measure(m) for m in measure_ids] if measure_ids else list(MEASURES.values())
    with open_warehouse_for_writing(runtime.settings, purpose="compute measures") as backend:
        frame = compute(
            backend,
            chosen,
            frequencies=frequencies,
            breakdowns=by,
            start=start,
            end=end,
            progress=lambda message: click.echo(message, err=True),
        )
    if policy != "none":
        frame = control(frame, policy).frame
    return chosen, frame


@measures.command("compute")
@click.option("--measure", "measure_ids", multiple=True, help="A measure id; repeat. Default: all.")
@click.option("--from", "start", type=DateType(), help="Only periods starting on or after this.")
@click.option("--to", "end", type=DateType(), help="Only periods ending on or before this.")
@click.option(
    "--by",
    multiple=True,
    type=click.Choice(BREAKDOWN_CHOICES),
    help="A breakdown as well as the total; repeat for several.",
)
@click.option(
    "--frequency",
    "frequencies",
    multiple=True,
    type=click.Choice(
        [
            "day",
            "week",
            "month",
            "quarter",
            "financial_year",
            "academic_year",
            "rolling_12_months",
        ]
    ),
    help="Period length; repeat for several. Default: every frequency each measure is "
    "published at (months, quarters, financial years and rolling 12 months, or the "
    "measure's own, such as academic years for NCMP).",
)
@_POLICY_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json", "parquet"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The file to write (needed for parquet); default standard output.",
)
@click.pass_obj
def measures_compute(
    runtime: Runtime,
    measure_ids: tuple[str, ...],
    start: date | None,
    end: date | None,
    by: tuple[str, ...],
    frequencies: tuple[str, ...],
    policy: str,
    output_format: str,
    out: Path | None,
) -> None:
    """Compute measures from the warehouse: one row per measure, period and group.

    A period some source has not sent in full is a gap and has no row; a loaded period
    with no events is a zero. Figures pass disclosure control (--policy nhs) unless
    --policy none is given, which is for analysts' eyes only.
    """
    if output_format == "parquet" and out is None:
        raise UserError("Parquet is binary; give --out FILE.parquet.")
    _, frame = _compute_measures(runtime, measure_ids, start, end, by, frequencies or None, policy)
    frame = frame.copy()
    for column in ("period_start", "period_end"):
        frame[column] = frame[column].map(lambda d: d.isoformat())
    if output_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out)
        click.echo(f"Wrote {len(frame):,} results to {out}.", err=True)
        return
    if output_format == "json":
        text = frame.to_json(orient="records", indent=2) + "\n"
    elif output_format == "csv":
        text = frame.to_csv(index=False, lineterminator="\n")
    else:
        text = _results_table(frame)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(frame):,} results to {out}.", err=True)


_FREQ_SHORT = {
    "day": "day",
    "week": "week",
    "month": "month",
    "quarter": "qtr",
    "financial_year": "FY",
    "academic_year": "AY",
    "rolling_12_months": "R12",
}


def _results_table(frame) -> str:
    """Results for reading: "*" is suppressed by disclosure control, "-" has no value."""
    if frame.empty:
        return "No results: no loads cover a whole period for these measures.\n"

    def shown(value, suppressed, percent=False, whole=False, places=1):
        if value != value:  # NaN
            return "*" if suppressed else "-"
        if percent:
            return f"{value * 100:.1f}%"
        return f"{value:,.0f}" if whole else f"{value:,.{places}f}"

    flag = {name: frame.get(f"{name}_suppressed") for name in ("numerator", "denominator", "value")}
    lines = [
        f"{'measure':<44} {'freq':<5} {'period':<22} {'group':<26} {'num':>7} {'den':>7} "
        f"{'value':>9}  95% CI"
    ]
    for i, row in enumerate(frame.itertuples(index=False)):
        hidden = {k: bool(v.iloc[i]) if v is not None else False for k, v in flag.items()}
        percent = row.value_type in ("proportion", "ratio")  # ratios are shares, in per cent
        group = "all" if row.breakdown == "all" else f"{row.breakdown}={row.group}"
        denominator = (
            ""
            if row.value_type == "count"
            else shown(row.denominator, hidden["denominator"], whole=True)
        )
        interval = ""
        if row.lower == row.lower:
            interval = f"{shown(row.lower, False, percent)} to {shown(row.upper, False, percent)}"
        lines.append(
            f"{row.measure_id:<44} {_FREQ_SHORT[row.frequency]:<5} "
            f"{row.period_start}..{row.period_end:<10} {group:<26} "
            f"{shown(row.numerator, hidden['numerator'], whole=True):>7} {denominator:>7} "
            f"{shown(row.value, hidden['value'], percent, row.value_type == 'count'):>9}  "
            f"{interval}"
        )
    return "\n".join(lines) + "\n"


@measures.command("spc")
@click.argument("measure_id")
@click.option(
    "--frequency",
    type=click.Choice(["day", "week", "month", "quarter", "financial_year", "academic_year"]),
    default="month",
    show_default=True,
)
@click.option(
    "--by",
    type=click.Choice(BREAKDOWN_CHOICES),
    help="One chart per group of this breakdown (default: the total).",
)
@click.option("--from", "start", type=DateType(), help="Only periods starting on or after this.")
@click.option("--to", "end", type=DateType(), help="Only periods ending on or before this.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "csv", "svg", "png"]),
    help="json (default), csv, svg or png; without it, the --out suffix decides.",
)
@click.option("--out", "--output", "out", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def measures_spc(
    runtime: Runtime,
    measure_id: str,
    frequency: str,
    by: str | None,
    start: date | None,
    end: date | None,
    output_format: str | None,
    out: Path | None,
) -> None:
    """A measure's series through the SPC engine (unrounded figures: for analysts)."""
    import pandas as pd

    from mkdeal.measures.periods import SPC_FREQ
    from mkdeal.spc import spc
    from mkdeal.spc.export import point_records, points_frame, summary_records

    chosen = _spc_format(output_format, out)
    (measure,), frame = _compute_measures(
        runtime, (measure_id,), start, end, (by,) if by else (), (frequency,), "none"
    )
    frame = frame[frame["breakdown"] == (by or "all")]
    if frame.empty:
        raise UserError(
            f"There are no {frequency} figures for {measure_id}: no loads cover a whole period."
        )
    frame = frame.sort_values(["breakdown_version", "group", "period_start"])
    scale = measure.display_scale
    facets = None
    if by:
        facets = (
            frame["group"]
            if frame["breakdown_version"].eq("").all()
            else frame["breakdown_version"] + " " + frame["group"]
        ).tolist()
    target = None
    if measure.target is not None and measure.improvement != "neutral":
        target = measure.target.value * scale
    dates = list(frame["period_start"])
    result = spc(
        pd.to_datetime(frame["period_start"]),
        frame["value"].to_numpy(dtype=float) * scale,
        improvement=measure.improvement,
        target=target,
        facets=facets,
        freq=SPC_FREQ[frequency],
    )
    payload: str | bytes
    if chosen == "json":
        payload = (
            json.dumps(
                {
                    "measure": measure.describe(),
                    "frequency": frequency,
                    "breakdown": by or "all",
                    "scale": scale,
                    "summary": summary_records(result, target),
                    "points": point_records(result, dates),
                },
                indent=2,
            )
            + "\n"
        )
    elif chosen == "csv":
        payload = points_frame(result, dates).to_csv(index=False, lineterminator="\n")
    else:
        from mkdeal.spc.chart import spc_chart, to_png, to_svg

        chart = spc_chart(
            result,
            improvement=measure.improvement,
            title=measure.title,
            value_title=measure.unit,
            target=target,
        )
        payload = to_svg(chart) if chosen == "svg" else to_png(chart)
    _write_payload(payload, out)


@measures.command("gap")
@click.argument("measure_id")
@click.option(
    "--by",
    type=click.Choice(["decile", "quintile"]),
    default="decile",
    show_default=True,
    help="Most deprived minus least deprived decile (1 - 10) or quintile (1 - 5).",
)
@click.option(
    "--pool",
    type=click.Choice(["1", "3", "5"]),
    default="1",
    show_default=True,
    help="Consecutive periods whose counts are added up before the gap is taken.",
)
@click.option(
    "--imd-version",
    help="One deprivation index for every period (iod2025, imd2019, synthetic). Default: "
    "as NCMP does, each period on the index current at its end, never pooling across two.",
)
@click.option(
    "--ending",
    type=DateType(),
    help="Only the window whose last period starts on this date (refused, with the "
    "reason, if it would mix indices).",
)
@_POLICY_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--out", "--output", "out", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def measures_gap(
    runtime: Runtime,
    measure_id: str,
    by: str,
    pool: str,
    imd_version: str | None,
    ending: date | None,
    policy: str,
    output_format: str,
    out: Path | None,
) -> None:
    """A measure's deprivation gap in percentage points, with its 95% Newcombe interval.

    The gap is the proportion in the most deprived decile (or quintile) minus the least
    deprived, by the deprivation of each person's LSOA; the output names the index used
    and the pooling. Each window's pooled counts pass disclosure control (--policy nhs)
    unless --policy none is given, which is for analysts' eyes only.
    """
    import pandas as pd

    from mkdeal.measures import get_measure
    from mkdeal.measures.gaps import deprivation_gaps, pooled_gap

    measure = get_measure(measure_id)
    breakdown = f"imd_{by}"
    if measure.value_type != "proportion" or breakdown not in measure.breakdowns:
        raise UserError(
            f"{measure_id} is not a proportion with a {by} breakdown, so it has no deprivation gap."
        )
    # Control applies to each window's pooled counts, so the engine's are kept unrounded.
    _, frame = _compute_measures(
        runtime, (measure_id,), None, None, (breakdown,), (measure.frequency,), "none"
    )
    options = dict(
        frequency=measure.frequency,
        breakdown=breakdown,
        pool=int(pool),
        imd_version=imd_version,
        policy=policy,
    )
    if ending is not None:
        gaps = pd.DataFrame([pooled_gap(frame, measure_id, last_period_start=ending, **options)])
        notes: tuple[str, ...] = ()
    else:
        series = deprivation_gaps(frame, measure_id, **options)
        gaps, notes = series.frame, series.notes
    for note in notes:
        click.echo(note, err=True)
    if gaps.empty:
        raise UserError(
            f"{measure_id} has no deprivation gap to show: no covered period has results by "
            f"{by} on one index."
        )
    gaps = gaps.copy()
    gaps["policy"] = policy
    for column in ("period_start", "period_end"):
        gaps[column] = gaps[column].map(lambda d: d.isoformat())
    if output_format == "json":
        text = gaps.to_json(orient="records", indent=2) + "\n"
    elif output_format == "csv":
        text = gaps.to_csv(index=False, lineterminator="\n")
    else:
        text = _gap_table(gaps, by)
    _write_payload(text, out, "the gaps")


def _gap_table(gaps, by: str) -> str:
    """Gaps for reading: "*" is suppressed by disclosure control, "-" has no value."""
    from pandas import isna as pd_isna

    def percent(n, d) -> str:
        if pd_isna(n) or pd_isna(d):
            return "*"
        return f"{n / d:.1%} ({n:.0f}/{d:.0f})" if d else "-"

    least = "10" if by == "decile" else "5"
    lines = [
        f"{'periods':<32} {'index':<10} {by + ' 1':>20} {by + ' ' + least:>20} "
        f"{'gap (pp)':>9}  95% interval"
    ]
    for r in gaps.itertuples():
        gap = "*" if pd_isna(r.gap) else f"{r.gap:+.1f}"
        interval = "" if pd_isna(r.gap) else f"{r.lower:+.1f} to {r.upper:+.1f}"
        lines.append(
            f"{r.periods:<32} {r.imd_version:<10} "
            f"{percent(r.most_deprived_numerator, r.most_deprived_denominator):>20} "
            f"{percent(r.least_deprived_numerator, r.least_deprived_denominator):>20} "
            f"{gap:>9}  {interval}"
        )
    lines.append(f"Index rule: {gaps['index_rule'].iloc[0]}; policy {gaps['policy'].iloc[0]}.")
    return "\n".join(lines) + "\n"


@measures.command("load-comparator")
@click.argument("measure_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--published", required=True, type=DateType(), help="The file's publication date.")
@click.option("--url", required=True, help="Where the file is published.")
@click.option(
    "--publisher",
    default="",
    help="Who published it (default: OHID Fingertips or NHS England, from the layout).",
)
@click.option(
    "--area",
    help="The area to read: an ONS code in a Fingertips export (default: the Deal's, "
    "E06000042), a commissioner code in an NHS England file.",
)
@click.option("--indicator", help="The Fingertips Indicator ID, when the file holds several.")
@click.option("--sex", default="Persons", show_default=True, help="The Fingertips Sex to read.")
@click.option(
    "--month",
    type=DateType(),
    help="For an NHS England file without a period column: a date in its month.",
)
@click.pass_obj
def measures_load_comparator(
    runtime: Runtime,
    measure_id: str,
    file: Path,
    published: date,
    url: str,
    publisher: str,
    area: str | None,
    indicator: str | None,
    sex: str,
    month: date | None,
) -> None:
    """Load official published values of a measure to show beside ours.

    FILE is a Fingertips indicator export (CSV) or NHS England's RTT Incomplete
    Commissioner file. The comparator keeps the file's name, publication date and link;
    loading the same file again replaces what it loaded before.
    """
    from mkdeal.deal import load_deal
    from mkdeal.measures import get_measure
    from mkdeal.measures.comparators import Publication, read_comparator, save_comparator
    from mkdeal.warehouse import open_warehouse_for_writing

    measure = get_measure(measure_id)
    fingertips = month is None
    publication = Publication(
        publisher=publisher or ("OHID Fingertips" if fingertips else "NHS England"),
        published_on=published,
        url=url,
    )
    rows = read_comparator(
        file,
        measure,
        publication,
        area=area or load_deal().area_code,
        indicator=indicator,
        sex=sex,
        month=month,
    )
    with open_warehouse_for_writing(runtime.settings, purpose="load a comparator") as backend:
        outcome = save_comparator(backend, rows)
    periods = ", ".join(str(d) for d in rows["period_start"])
    click.echo(
        f"Comparator {rows['comparator_id'].iloc[0]}: {outcome}; {len(rows)} official "
        f"value(s) of {measure_id} for {rows['area_code'].iloc[0]} "
        f"({rows['area_name'].iloc[0]}), periods starting {periods}."
    )
    from mkdeal.measures.refresh import refresh
    from mkdeal.publish import current_snapshot_id, open_snapshot

    data_dir = runtime.settings.data_dir
    if current_snapshot_id(data_dir) and "measure_results" in open_snapshot(data_dir).table_names:
        # Republish so the pages see it; measures whose loads did not change are kept.
        click.echo(refresh(runtime.settings).summary())
    else:
        click.echo("It will be published with the measures at their first refresh (run-due).")


@measures.command("compare")
@click.argument("measure_id")
@_POLICY_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.pass_obj
def measures_compare(runtime: Runtime, measure_id: str, policy: str, output_format: str) -> None:
    """Our figures beside the official ones loaded for the same periods (marked official,
    with the file and publication date they came from)."""
    from mkdeal.measures.comparators import beside, saved_comparators
    from mkdeal.warehouse import open_warehouse_for_writing

    _, ours = _compute_measures(runtime, (measure_id,), None, None, (), None, policy)
    with open_warehouse_for_writing(runtime.settings, purpose="read comparators") as backend:
        official = saved_comparators(backend)
    official = official[official["measure_id"] == measure_id]
    if official.empty:
        raise UserError(
            f"No official values of {measure_id} are loaded; load them with "
            "`mkdeal measures load-comparator`."
        )
    frame = beside(ours, official)
    frame = frame[frame["official_value"].notna()].copy()
    for column in ("period_start", "period_end", "published_on"):
        frame[column] = frame[column].map(
            lambda d: d.isoformat() if hasattr(d, "isoformat") else ""
        )
    if output_format == "json":
        click.echo(frame.to_json(orient="records", indent=2))
        return
    if output_format == "csv":
        click.echo(frame.to_csv(index=False, lineterminator="\n"), nl=False)
        return
    click.echo(f"{'period':<12} {'frequency':<15} {'ours':>10} {'official':>10}  source")
    for r in frame.itertuples():
        ours_text = "-" if r.value != r.value else f"{r.value:.4g}"
        click.echo(
            f"{r.period_start:<12} {r.frequency:<15} {ours_text:>10} "
            f"{r.official_value:>10.4g}  official: {r.source_file}, published {r.published_on}"
        )


def _write_payload(payload: str | bytes, out: Path | None, what: str = "") -> None:
    """Write to `out`, or to standard output (never a PNG to a terminal)."""
    if out is None:
        if isinstance(payload, bytes):
            if sys.stdout.isatty():
                raise UserError("A PNG cannot be shown in a terminal; give --out FILE.png.")
            sys.stdout.buffer.write(payload)
        else:
            click.echo(payload, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(payload, bytes):
        out.write_bytes(payload)
    else:
        out.write_text(payload, encoding="utf-8")
    click.echo(f"Wrote {what + ' ' if what else ''}to {out}.", err=True)


@cli.group()
def programme() -> None:
    """Active MK: the practices people enrol from, synthetic participants, and who stands
    where (ready for goals, on hold, not ready). Staff enrol, screen, record consent, pause
    and withdraw participants on the web pages under /programme."""


@programme.command("practices")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def programme_practices(runtime: Runtime, file: Path) -> None:
    """Set the Milton Keynes GP practices whose patients may enrol, from a CSV file with
    the columns ods_code and name (one practice a row).

    The list is replaced, except that a practice a participant is registered with stays.
    """
    import csv
    from datetime import UTC

    from mkdeal.activity.participants import load_practices
    from mkdeal.db import open_app_database

    rows = []
    with file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"ods_code", "name"} - set(reader.fieldnames or ())
        if missing:
            raise UserError(
                f"{file} has no column {', '.join(sorted(missing))}; it needs ods_code and name."
            )
        for number, row in enumerate(reader, start=2):
            code, name = (row["ods_code"] or "").strip(), (row["name"] or "").strip()
            if not (3 <= len(code) <= 10 and code.isalnum()):
                raise UserError(f"{file}, row {number}, ods_code: {code!r} is not an ODS code.")
            if not name:
                raise UserError(f"{file}, row {number}, name: the practice has no name.")
            rows.append((code, name))
    if not rows:
        raise UserError(f"{file} lists no practices.")
    engine = open_app_database(runtime.settings)
    try:
        added, removed = load_practices(engine, rows, datetime.now(UTC))
    finally:
        engine.dispose()
    click.echo(
        f"The programme's practice list has {len(rows)} practices "
        f"({added} added, {removed} removed)."
    )


@programme.command("synth")
@click.option("--count", default=300, show_default=True, type=click.IntRange(1, 5000))
@click.option("--seed", default=0, show_default=True, help="As given to `mkdeal synth`.")
@click.option(
    "--start",
    type=DateType(),
    default="2019-04-01",
    show_default=True,
    help="As given to `mkdeal synth`.",
)
@click.option(
    "--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True
)
@click.pass_obj
def programme_synth(runtime: Runtime, count: int, seed: int, start: date, scale: float) -> None:
    """Enrol synthetic participants (adults of the synthetic Milton Keynes, 999-range NHS
    numbers) in varied states, from September 2025 to --as-of. Running it again with the
    same options changes nothing."""
    from mkdeal.activity import synthetic
    from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store
    from mkdeal.people import Pseudonymiser

    settings = runtime.settings
    try:
        plans, practices = synthetic.plan(
            count, seed=seed, start=start, end=runtime.as_of, scale=scale, as_of=runtime.as_of
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    try:
        click.echo(f"Enrolling {count:,} synthetic participants...")
        added, skipped = synthetic.apply(
            app, identifiable, Pseudonymiser(settings.pseudonymisation_key), plans, practices,
            progress=click.echo,
        )  # fmt: skip
    finally:
        app.dispose()
        identifiable.dispose()
    click.echo(f"Enrolled {added:,} synthetic participants; {skipped:,} were already enrolled.")


@programme.command("synth-activity")
@click.option("--seed", default=0, show_default=True, help="The same seed gives the same days.")
@click.pass_obj
def programme_synth_activity(runtime: Runtime, seed: int) -> None:
    """Send synthetic activity for the synthetic participants through the sync API, as
    their devices would: HealthKit statistics from Apple Watch routes, FHIR Observations
    from the others, a payload a week up to --as-of. Each participant gets a device token
    first. Participants who already have their synthetic device are skipped, so running it
    again changes nothing. `mkdeal run-due` then makes the days."""
    from datetime import time as clock_time
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from mkdeal.activity import sync
    from mkdeal.activity.synthetic import STAFF, senders
    from mkdeal.activity.synthetic_activity import deliveries
    from mkdeal.appdb.models import DeviceToken, Participant
    from mkdeal.db import open_app_database
    from mkdeal.web.api import post_in_process
    from mkdeal.web.app import create_app

    settings = runtime.settings
    engine = open_app_database(settings)
    SYNTHETIC_DEVICE = "Synthetic device"
    try:
        with Session(engine) as session:
            sent_before = set(
                session.scalars(
                    select(Participant.reference)
                    .join(DeviceToken, DeviceToken.participant_id == Participant.id)
                    .where(DeviceToken.label == SYNTHETIC_DEVICE)
                )
            )
        chosen = [s for s in senders(engine, runtime.as_of) if s.reference not in sent_before]
        now = [datetime.combine(runtime.as_of, clock_time(9), LONDON)]
        tokens = {
            reference: sync.issue_token(
                engine, reference, SYNTHETIC_DEVICE, actor=STAFF, now=now[0]
            )
            for reference in sorted({s.reference for s in chosen})
        }
        app = create_app(settings, clock=lambda: now[0])
        planned = deliveries(chosen, seed)
        click.echo(
            f"Sending {len(planned):,} payloads for {len(tokens):,} participants "
            f"({len(sent_before):,} had their synthetic device already)..."
        )
        answers: dict[int, int] = {}
        first_problem = ""
        for number, delivery in enumerate(planned, start=1):
            now[0] = datetime.combine(delivery.sent_on, clock_time(20), LONDON) + timedelta(
                minutes=number % 60
            )
            kind = "application/fhir+json" if delivery.source == "fhir" else "application/json"
            status, answer = post_in_process(
                app, f"/api/v1/activity/{delivery.source}", tokens[delivery.reference],
                delivery.payload, kind,
            )  # fmt: skip
            answers[status] = answers.get(status, 0) + 1
            if status >= 400 and not first_problem:
                first_problem = f" The first refusal said: {answer.get('error', status)}"
            if number % 2000 == 0:
                click.echo(f"  {number:,} of {len(planned):,} payloads")
        app.state.identifiable.dispose()
    finally:
        engine.dispose()
    summary = ", ".join(f"{count:,} answered {status}" for status, count in sorted(answers.items()))
    click.echo(f"Sent {len(planned):,} payloads: {summary or 'none'}.{first_problem}")


@programme.group("budget")
def programme_budget() -> None:
    """The programme's reward budget: money put in, and what is spent, reserved and free."""


@programme_budget.command("add")
@click.argument("amount")
@click.option("--note", required=True, help="Where the money comes from (a funding decision).")
@click.option(
    "--once", is_flag=True, help="Add nothing if money with the same note was added before."
)
@click.pass_obj
def programme_budget_add(runtime: Runtime, amount: str, note: str, once: bool) -> None:
    """Add AMOUNT in pounds (for example 25000 or £25,000.50) to the reward budget. The
    budget is only ever added to; reservations for waiting participants are made by the
    next `run-due`."""
    from mkdeal.activity.nightly import add_budget
    from mkdeal.db import open_app_database

    pence = _pence(amount, "AMOUNT")
    engine = open_app_database(runtime.settings)
    try:
        total = add_budget(engine, pence, note, actor=_actor(), now=datetime.now(UTC), once=once)
    finally:
        engine.dispose()
    if total is None:
        click.echo(f"Money noted {note!r} was added before; nothing changed.")
    else:
        click.echo(f"Added {pounds(pence)} to the reward budget; it is now {pounds(total)}.")


@programme.group("vouchers")
def programme_vouchers() -> None:
    """Voucher codes of the built-in stock provider."""


@programme_vouchers.command("load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--value", required=True, help="What each code is worth, in pounds (e.g. 10).")
@click.pass_obj
def programme_vouchers_load(runtime: Runtime, file: Path, value: str) -> None:
    """Load voucher codes, one a line, all worth --value. Codes are encrypted with the
    encryption key before they are stored; a code already loaded is left as it is, and a
    malformed line is reported by its number (never printed)."""
    from sqlalchemy.orm import Session

    from mkdeal.activity.nightly import provider_for
    from mkdeal.activity.vouchers import load_stock
    from mkdeal.db import open_app_database

    pence = _pence(value, "--value")
    provider = provider_for(runtime.settings)
    engine = open_app_database(runtime.settings)
    try:
        with Session(engine) as session, session.begin():
            result = load_stock(
                session, provider, file, pence, actor=_actor(), now=datetime.now(UTC)
            )
            stock = provider.available(session)
    finally:
        engine.dispose()
    for problem in result.rejected:
        click.echo(problem, err=True)
    click.echo(result.summary(file))
    click.echo(f"Codes worth {pounds(pence)} in stock: {stock.get(pence, 0):,}.")


@programme_vouchers.command("synth")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--count", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=0, show_default=True)
def programme_vouchers_synth(file: Path, count: int, seed: int) -> None:
    """Write FILE with synthetic voucher codes (SYNTH-...), one a line, for the demo and
    tests: load them with `mkdeal programme vouchers load`. Never real money."""
    import random

    rng = random.Random(seed)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    codes = {"SYNTH-" + "".join(rng.choice(alphabet) for _ in range(12)) for _ in range(count)}
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("\n".join(sorted(codes)) + "\n", encoding="utf-8")
    click.echo(f"Wrote {len(codes):,} synthetic voucher codes to {file}.")


@programme.command("reconcile")
@output_format_option("table")
@click.pass_obj
def programme_reconcile(runtime: Runtime, output_format: str) -> None:
    """Prove from the reward ledger that spend + reserved + available = budget, that no
    participant is over their cap, and that every voucher code issued matches one ledger
    entry. Exits with status 1 if anything does not hold."""
    from mkdeal.activity.reconcile import reconcile
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        result = reconcile(engine, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if output_format == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
    if not result.ok:
        sys.exit(1)


@programme.command("account")
@click.argument("reference")
@click.argument("username")
@click.pass_obj
def programme_account(runtime: Runtime, reference: str, username: str) -> None:
    """Let USERNAME (a user with the participant role, see `mkdeal users add`) sign in as
    participant REFERENCE and see their own goals, points and vouchers at /me."""
    from mkdeal.activity.participants import link_account
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        link_account(engine, reference, username, actor=_actor(), now=datetime.now(UTC))
    finally:
        engine.dispose()
    click.echo(f"{username.lower()} now signs in as {reference.upper()}.")


def _pence(text: str, what: str) -> int:
    """Pounds as typed (25000, £25,000.50) in whole pence."""
    from decimal import Decimal, InvalidOperation

    cleaned = text.strip().replace("£", "").replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise UserError(
            f"{what} {text!r} is not an amount in pounds, such as 250 or £1,000.50."
        ) from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise UserError(f"{what} {text!r} must be more than £0, in whole pence.")
    return int(amount * 100)


@programme.command("list")
@click.option(
    "--readiness",
    type=click.Choice(["not_ready", "hold", "may_rise"]),
    help="Only participants with this answer on --as-of.",
)
@output_format_option("table")
@click.pass_obj
def programme_list(runtime: Runtime, readiness: str | None, output_format: str) -> None:
    """Participants by reference, with their readiness for goals on --as-of and why."""
    from mkdeal.activity.participants import records
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        found = records(engine)
    finally:
        engine.dispose()
    rows = []
    for record in found:
        decision = record.decision(runtime.as_of)
        if readiness and decision.answer != readiness:
            continue
        rows.append(
            {
                "reference": record.reference,
                "enrolled_on": record.enrolled_at.astimezone(LONDON).date().isoformat(),
                "device_route": record.device_route,
                "readiness": decision.answer,
                "reasons": list(decision.reasons),
            }
        )
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No participants." if not found else "No participants with that answer.")
    for row in rows:
        reasons = " ".join(row["reasons"])
        click.echo(
            f"{row['reference']}  {row['enrolled_on']}  {row['readiness']:<9}  "
            f"{row['device_route']:<22}  {reasons}"
        )
    counts = {}
    for row in rows:
        counts[row["readiness"]] = counts.get(row["readiness"], 0) + 1
    if rows:
        click.echo(
            f"{len(rows)} participants: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        )


@cli.group()
def users() -> None:
    """People who sign in: add, list, disable, grant and revoke roles."""


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The person's name as pages show it.")
@click.option(
    "--organisation",
    "organisations",
    multiple=True,
    required=True,
    help="An organisation code (ODS code; see `mkdeal deal show`). Repeat for several.",
)
@click.option("--role", "roles", multiple=True, help="A role to grant. Repeat for several.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate-password", is_flag=True, help="Make a random password and print it once.")
@click.option("--exist-ok", is_flag=True, help="Say so and succeed if the user already exists.")
@click.pass_obj
def users_add(
    runtime: Runtime,
    username: str,
    display_name: str,
    organisations: tuple[str, ...],
    roles: tuple[str, ...],
    password_stdin: bool,
    generate_password: bool,
    exist_ok: bool,
) -> None:
    """Add a user who belongs to one or more organisations, with roles.

    The password is asked for (hidden) unless --password-stdin or --generate-password.
    """
    import secrets as random_secrets

    from mkdeal.access.accounts import add_user, list_users
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        if exist_ok and any(u["username"] == username.lower() for u in list_users(engine)):
            click.echo(f"User {username} already exists; nothing changed.")
            return
        if generate_password:
            password = random_secrets.token_urlsafe(15)
        elif password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        add_user(
            engine,
            username,
            display_name,
            password,
            organisations=list(organisations),
            roles=list(roles),
            actor=_actor(),
        )
    finally:
        engine.dispose()
    click.echo(f"Added {username.lower()} with roles: {', '.join(roles) or 'none'}.")
    if generate_password:
        click.echo(f"Their password (shown once): {password}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate-password", is_flag=True, help="Make a random password and print it once.")
@click.pass_obj
def users_set_password(
    runtime: Runtime, username: str, password_stdin: bool, generate_password: bool
) -> None:
    """Set a user's password; their sessions end."""
    import secrets as random_secrets

    from mkdeal.access.accounts import set_password
    from mkdeal.db import open_app_database

    if generate_password:
        password = random_secrets.token_urlsafe(15)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    engine = open_app_database(runtime.settings)
    try:
        set_password(engine, username, password, actor=_actor())
    finally:
        engine.dispose()
    click.echo(f"Set a new password for {username}.")
    if generate_password:
        click.echo(f"Their password (shown once): {password}")


@users.command("list")
@click.pass_obj
def users_list(runtime: Runtime) -> None:
    """List users, their organisations and roles."""
    from mkdeal.access.accounts import list_users
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        rows = list_users(engine)
    finally:
        engine.dispose()
    if not rows:
        click.echo("There are no users yet. Add one with `mkdeal users add`.")
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        orgs, roles = ", ".join(row["organisations"]) or "-", ", ".join(row["roles"]) or "-"
        click.echo(
            f"{row['username']:<20} {state:<9} {row['display_name']:<28} "
            f"orgs: {orgs}; roles: {roles}"
        )


@users.command("disable")
@click.argument("username")
@click.pass_obj
def users_disable(runtime: Runtime, username: str) -> None:
    """Disable a user: they cannot sign in, and their sessions end at once."""
    from mkdeal.access.accounts import disable_user
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        disable_user(engine, username, actor=_actor())
    finally:
        engine.dispose()
    click.echo(f"Disabled {username}; their sessions have ended.")


@users.command("grant")
@click.argument("username")
@click.argument("role")
@click.pass_obj
def users_grant(runtime: Runtime, username: str, role: str) -> None:
    """Grant a role (see access/roles.toml for what each role may do)."""
    from mkdeal.access.accounts import grant
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        changed = grant(engine, username, role, actor=_actor())
    finally:
        engine.dispose()
    click.echo(f"Granted {role} to {username}." if changed else f"{username} already has {role}.")


@users.command("revoke")
@click.argument("username")
@click.argument("role")
@click.pass_obj
def users_revoke(runtime: Runtime, username: str, role: str) -> None:
    """Revoke a role; it stops working on the user's next request."""
    from mkdeal.access.accounts import revoke
    from mkdeal.db import open_app_database

    engine = open_app_database(runtime.settings)
    try:
        changed = revoke(engine, username, role, actor=_actor())
    finally:
        engine.dispose()
    click.echo(
        f"Revoked {role} from {username}." if changed else f"{username} did not have {role}."
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors become sentences; the traceback only under --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="mkdeal", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Abort:
        click.echo("Stopped.", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except UserError as error:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {error}", err=True)
        return error.exit_code
    except Exception as error:
        if debug:
            traceback.print_exc()
        click.echo(
            f"Error: mkdeal stopped on an unexpected {type(error).__name__}. Run the command "
            "again with --debug to see the details, and report them if the problem stays.",
            err=True,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
