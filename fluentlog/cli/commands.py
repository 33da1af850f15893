"""One short function per command: parse options, call one core function, render its View.

Heavy modules (duckdb, pyarrow) are imported inside the commands.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fluentlog.cli.app import (
    INGEST_CHECKPOINT,
    INGEST_MEMORY,
    AroundOpt,
    ConfigOpt,
    DbOpt,
    ExitCodeOpt,
    FormatOpt,
    ReasonOpt,
    RevealOpt,
    SinceOpt,
    TzOpt,
    UntilOpt,
    WaitOpt,
    WindowOpt,
    _counter,
    _days,
    _guard,
    _progress,
    _range,
    _reading,
    _redactor,
    _settings,
    _show,
    _zone,
    app,
    err,
    no_empty_paths,
    out,
    path_option,
    text_option,
    trimmed,
)
from fluentlog.errors import ExitCode, FluentlogError, UsageError
from fluentlog.render import Format, default_format


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(
        help="Files, directories or globs. In directories: .jsonl, .ndjson, .json, .parquet, .yml, "
             ".yaml (optionally .gz); other files there, and fluentlog's own beside a database "
             "(DB.access.jsonl, DB.lock.json), are listed as skipped.", show_default=False,
        callback=no_empty_paths)],
    kind: Annotated[str | None, typer.Option(
        "--kind", help="Treat every record as `audit` or `access` instead of telling them apart by shape.",
        show_default=False)] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Any rejected record fails its whole file (nothing of it stored, exit 4).")] = False,
    source: Annotated[str | None, typer.Option(
        "--source", help="Read the files as this source's export (see `fluentlog sources`); "
        "default: judged per file from its records.", show_default=False)] = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Load exports into the database; every record is inserted, a duplicate, a conflict or rejected.

    Fluent's own exports and those of Okta, Entra ID, Google Workspace, GitHub, AWS CloudTrail
    and Slack are recognised by their fields; other formats can be described in the config.

    Example: fluentlog ingest exports/ --db audit.duckdb

    Example: fluentlog ingest okta-system-log.json --source okta
    """
    if kind is not None and kind not in ("audit", "access"):
        raise UsageError(f"--kind must be `audit` or `access`, not {kind!r}")
    from fluentlog import config, sources
    from fluentlog.ingest import IngestOptions, check_spill_folder, expand, report_view
    from fluentlog.ingest import ingest as run_ingest
    from fluentlog.store import Store
    cfg = _settings(config_path)
    with _guard("ingest", cfg, db, paths=paths, kind=kind, strict=strict, source=source) as session:
        chosen = sources.get(source, cfg.sources) if source is not None else None
        skipped: list = []
        files = expand(paths, skipped)  # a bad path fails before any database is created
        options = IngestOptions(operator=config.current_operator(), kind=kind, strict=strict,
                                source_timezone=cfg.source_timezone, source=chosen,
                                sources=sources.available(cfg.sources))
        database = config.resolve_database(db, cfg)
        check_spill_folder(Store.spill_folder(database))  # before the database is made
        with Store.open(database, wait=wait, memory_limit=INGEST_MEMORY, checkpoint_every=INGEST_CHECKPOINT,
                        purpose="ingest", readable=files) as store, \
                _progress() as progress:
            report = run_ingest(store, files, options, progress)
        report.skipped = [str(p) for p in skipped]
        if report.ledger_head:
            from fluentlog import ledger
            ledger.anchor(cfg.anchor_file, report.ledger_head)
        _show(report_view(report), fmt, cfg, session=session,
              done="what the ingest stored is kept all the same (a rerun skips those files as already_ingested "
                   "and retries any that failed; `fluentlog status` shows what is loaded)")
    if report.failed:
        raise typer.Exit(ExitCode.DATA)


@app.command()
def status(db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0) -> None:
    """Show what is loaded: events per stream, time range, files, rejects, conflicts and gaps.

    Example: fluentlog status --format json
    """
    from fluentlog import config
    from fluentlog.store import Store
    from fluentlog.workflows import status as workflow
    cfg = _settings(config_path)
    database = config.resolve_database(db, cfg)
    with _guard("status", cfg, db) as session:
        if not database.exists():
            result = workflow.empty_status(database)
        else:
            with Store.open(database, read_only=True, wait=wait, readable=[]) as store:
                result = workflow.run(store, workflow.Params(timezone=cfg.timezone))
        _show(workflow.view(result), fmt, cfg, session=session)


@app.command("who-changed")
def who_changed(
    target: Annotated[str | None, typer.Argument(
        help="type:id (appointment:APT-1042), a bare id (exact, any type) or a user's email.",
        show_default=False)] = None,
    entity_type: Annotated[str | None, text_option("--type", "Entity type, with --id.")] = None,
    entity_id: Annotated[str | None, text_option("--id", "Entity id.")] = None,
    actor: Annotated[str | None, text_option("--actor", "Only changes by this email.")] = None,
    action: Annotated[str | None, text_option("--action", "Only these actions; a glob such as user.*")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", help="Keep the newest N (still shown oldest first; N up to 2**62).", show_default=False)] = None,
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None, reveal: RevealOpt = False,
    reason: ReasonOpt = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Who changed an entity: every audit event on it or naming it, oldest first.

    Example: fluentlog who-changed appointment:APT-1042 --since 30d
    """
    from fluentlog.workflows import who_changed as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    params = workflow.Params(target, entity_type, entity_id, actor, action, _range(since, until, zone), limit)
    workflow.resolve(params)  # a usage error before the database is opened
    with _guard("who-changed", cfg, db, target=target, type=entity_type, id=entity_id, actor=actor,
                action=action, since=since, until=until, limit=limit) as session:
        redactor = _redactor(cfg, session, reveal, reason)
        with _reading(db, cfg, wait) as store:
            result = workflow.run(store, params)
        result.events = redactor.rows(result.events)
        _show(workflow.view(result, zone), fmt, cfg, zone, session)


@app.command()
def signins(
    email: Annotated[str | None, text_option("--email", "The account's email.")] = None,
    ip: Annotated[str | None, text_option("--ip", "An IP address instead (adds password_spray).")] = None,
    user: Annotated[str | None, text_option(
        "--user", "A login name instead, for sources without emails (GitHub).")] = None,
    since: SinceOpt = None, until: UntilOpt = None, around: AroundOpt = None, window: WindowOpt = "2h",
    exit_code: ExitCodeOpt = False, tz: TzOpt = None, reveal: RevealOpt = False, reason: ReasonOpt = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """A person's sign-ins with findings: repeated failures, success after failures, new
    country/IP/device, impossible travel (and password spray with --ip).

    Example: fluentlog signins --email nina.patel@northside.example --around "2026-11-17T14:00" --window 12h
    """
    from fluentlog.workflows import signins as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    params = workflow.Params(email, ip, user, _range(since, until, zone, around, window), cfg.detect)
    with _guard("signins", cfg, db, email=email, user=user, ip=ip, since=since, until=until, around=around) as session:
        redactor = _redactor(cfg, session, reveal, reason)
        with _reading(db, cfg, wait) as store:
            result = workflow.run(store, params)
        result.events, result.findings = redactor.rows(result.events), redactor.rows(result.findings)
        _show(workflow.view(result, zone), fmt, cfg, zone, session)
    if exit_code and result.findings:
        raise typer.Exit(ExitCode.FINDINGS)


@app.command()
def offboarding(
    email: Annotated[str | None, text_option("--email", "The removed (or re-roled) user's email.")] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every user removed or re-roled in --since/--until.")]
    = False,
    removed_at: Annotated[str | None, text_option(
        "--removed-at", "When you removed them: a missing user.removed event is then a finding.")] = None,
    window: Annotated[str, typer.Option(
        "--window", callback=trimmed, help="Review others' sensitive changes this far around it.")] = "7d",
    since: SinceOpt = None, until: UntilOpt = None, exit_code: ExitCodeOpt = False, tz: TzOpt = None,
    reveal: RevealOpt = False, reason: ReasonOpt = None,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Check a removal or role change: is it logged, and has the person come back?

    Example: fluentlog offboarding --all --since 30d --exit-code
    """
    from datetime import UTC, datetime

    from fluentlog import timeparse
    from fluentlog.workflows import offboarding as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    removed = timeparse.parse_time(removed_at, "--removed-at", zone, datetime.now(UTC)) if removed_at else None
    params = workflow.Params(email, removed, _days(window), all_users,
                             _range(since, until, zone))
    with _guard("offboarding", cfg, db, email=email, all=all_users, removed_at=removed_at, since=since,
                until=until) as session:
        redactor = _redactor(cfg, session, reveal, reason)
        with _reading(db, cfg, wait) as store:
            reports = [workflow.redacted(r, redactor) for r in workflow.run(store, params)]
        _show(workflow.view(reports, params), fmt, cfg, zone, session)
    if exit_code and any(r["findings"] for r in reports):
        raise typer.Exit(ExitCode.FINDINGS)


@app.command()
def timeline(
    email: Annotated[str, text_option("--email", "The person's email.")],
    since: SinceOpt = None, until: UntilOpt = None, around: AroundOpt = None, window: WindowOpt = "2h",
    tz: TzOpt = None, reveal: RevealOpt = False, reason: ReasonOpt = None, db: DbOpt = None,
    config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """One person's story: their sign-ins, their actions, and changes made to their user.

    Example: fluentlog timeline --email lee.park@northside.example --since 2026-11-01
    """
    from fluentlog.workflows import timeline as workflow
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    params = workflow.Params(email, _range(since, until, zone, around, window))
    with _guard("timeline", cfg, db, email=email, since=since, until=until, around=around) as session:
        redactor = _redactor(cfg, session, reveal, reason)
        with _reading(db, cfg, wait) as store:
            items = redactor.rows(workflow.run(store, params))
        _show(workflow.view(items, params, zone), fmt, cfg, zone, session)


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    json = "json"
    parquet = "parquet"


@app.command()
def export(
    stream: Annotated[str, typer.Argument(help="audit or access.", show_default=False)],
    output: Annotated[Path, path_option("--output", "-o", help="The file to write (required: exports never go "
                                        "to a terminal by accident).")],
    export_format: Annotated[ExportFormat | None, typer.Option(
        "--format", "-f", help="File format. Default: the one the file name's extension names (.csv, .jsonl, "
        ".ndjson, .json, .parquet), else csv. A --format that contradicts the extension is refused, "
        "and so is a compressed name (.gz, .zip).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    email: Annotated[str | None, text_option("--email", "audit: actor or user entity; access: the account.")] = None,
    actor: Annotated[str | None, text_option("--actor", "audit: changes by this email.")] = None,
    entity_type: Annotated[str | None, text_option("--type", "audit: entity type.")] = None,
    entity_id: Annotated[str | None, text_option("--id", "audit: entity id.")] = None,
    action: Annotated[str | None, text_option("--action", "audit: a glob such as user.*")] = None,
    ip: Annotated[str | None, text_option("--ip", "access: this IP address.")] = None,
    since: SinceOpt = None, until: UntilOpt = None, tz: TzOpt = None, reveal: RevealOpt = False,
    reason: ReasonOpt = None, db: DbOpt = None, config_path: ConfigOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Write events to a file (CSV, JSON Lines, JSON or Parquet, as the file name says): atomic,
    mode 0600, health data redacted.

    Example: fluentlog export audit --since 30d --action "user.*" --output user-changes.csv
    """
    from fluentlog import export as exporter
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    chosen = exporter.choose_format(output, export_format.value if export_format else None)
    params = exporter.Params(stream, output.absolute(), chosen, force,
                             {"email": email, "actor": actor, "type": entity_type, "id": entity_id,
                              "action": action, "ip": ip}, _range(since, until, zone))
    exporter.query(params)  # usage errors before anything is opened
    exporter.check_target(params)
    with _guard("export", cfg, db, stream=stream, output=str(output), email=email, actor=actor, type=entity_type,
                id=entity_id, action=action, ip=ip, since=since, until=until) as session:
        redactor = _redactor(cfg, session, reveal, reason)
        with _reading(db, cfg, wait) as store, _counter() as progress:
            written = exporter.run(store, params, redactor, progress)
        _show(exporter.summary(written), None, cfg, zone, session, export_path=str(written.path),
              export_sha256=written.sha256, rows=written.rows, done=f"the export was written to {written.path}")


@app.command()
def retention(
    keep: Annotated[str | None, text_option(
        "--keep", "Keep this long (6y, 18mo, 400d). Default: the config's `retention`, else 6y.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Delete (owners only). Without it: a dry run.")] = False,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Show what the retention policy would delete; with --apply, delete it in one transaction.

    Example: fluentlog retention --keep 6y
    """
    from datetime import UTC, datetime

    from fluentlog import timeparse
    from fluentlog.workflows import retention as workflow
    cfg = _settings(config_path)
    policy = keep or cfg.retention
    params = workflow.Params(policy, datetime.now(UTC) - timeparse.parse_duration(policy, "--keep"), apply)
    command = "retention --apply" if apply else "retention"
    with _guard(command, cfg, db, keep=policy, cutoff=params.cutoff.isoformat()) as session:
        with _reading(db, cfg, wait, write_as=command if apply else None) as store:
            result = workflow.run(store, params)
            deleted = sum(s["events"] for s in result["streams"].values())
            if apply and deleted:  # the purge's ledger entry is anchored like an ingest's
                from fluentlog import ledger
                ledger.anchor(cfg.anchor_file, ledger.head(store))
        _show(workflow.view(result), fmt, cfg, session=session, rows=deleted,
              done="the events were deleted all the same (a ledger entry records it)" if apply and deleted else None)


@app.command()
def verify(
    anchor: Annotated[Path | None, path_option("--anchor", help="An anchor file of ledger heads (default: the "
                                               "config's `anchor_file`).")] = None,
    rebuild_index: Annotated[bool, typer.Option(
        "--rebuild-index", help="First rebuild who-changed's entity index from the stored events (needs the "
        "right to ingest; recorded in the ledger), then verify.")] = False,
    db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None, wait: WaitOpt = 30.0,
) -> None:
    """Check that the store holds exactly what was ingested: recompute every file's event digest
    and who-changed's entity index, and walk the ledger's hash chain. Exit 1, naming what
    diverged, on any difference.

    Example: fluentlog verify --anchor /srv/fluentlog/anchor.txt
    """
    from fluentlog import ledger
    cfg = _settings(config_path)
    command = "verify --rebuild-index" if rebuild_index else "verify"
    with _guard(command, cfg, db, anchor=str(anchor) if anchor else None) as session:
        with _reading(db, cfg, wait, write_as=command if rebuild_index else None) as store:
            rebuilt = ledger.rebuild_index(store) if rebuild_index else False
            if rebuild_index:
                ledger.anchor(cfg.anchor_file, ledger.head(store))
            verdict = ledger.verify(store, anchor or cfg.anchor_file)
        _show(ledger.view(verdict, rebuilt), fmt, cfg, session=session, rows=len(verdict.problems),
              done="the entity index was rebuilt all the same (a ledger entry records it)" if rebuild_index else None)
    if not verdict.ok:
        raise typer.Exit(ExitCode.FINDINGS)


@app.command("access-log")
def access_log(
    since: SinceOpt = None,
    operator: Annotated[str | None, text_option("--operator", "Only this OS account.")] = None,
    command: Annotated[str | None, text_option("--command", "Only this command (who-changed, ...).")] = None,
    tz: TzOpt = None, db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None,
) -> None:
    """Who looked at the logs: every command run against this database, allowed or denied.

    Example: fluentlog access-log --since 30d --command signins
    """
    from fluentlog import accesslog, config
    cfg = _settings(config_path)
    zone = _zone(tz, cfg)
    with _guard("access-log", cfg, db, since=since, operator=operator, command=command) as session:
        entries = accesslog.select(config.resolve_database(db, cfg), _range(since, None, zone).since,
                                   operator, command)
        _show(accesslog.view(entries), fmt, cfg, zone, session)


config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(db: DbOpt = None, config_path: ConfigOpt = None, fmt: FormatOpt = None) -> None:
    """Validate the config and show what is in force: file, database, zones, operators, roles.

    Example: fluentlog config check
    """
    import pyarrow as pa

    from fluentlog import config
    from fluentlog.view import Section, View
    cfg = _settings(config_path)
    with _guard("config", cfg, db) as session:
        doc = {"config": str(cfg.path) if cfg.path else None, "database": str(config.resolve_database(db, cfg)),
               "timezone": cfg.timezone, "source_timezone": cfg.source_timezone, "retention": cfg.retention,
               "operators": dict(cfg.operators),
               "roles": {n: {"can": sorted(r.can), "reveal": r.reveal, "mask": list(r.mask)}
                         for n, r in cfg.roles.items()},
               "redact": list(cfg.phi_fields), "detect": vars(cfg.detect)}
        settings = pa.table({"setting": ["config", "database", "timezone", "source_timezone", "retention", "redact"],
                             "value": [doc["config"] or "(none: defaults)", doc["database"], doc["timezone"],
                                       doc["source_timezone"], doc["retention"], ", ".join(doc["redact"])]})
        operators = pa.table({"operator": list(cfg.operators), "role": list(cfg.operators.values())})
        _show(View(doc, [Section(settings, title="Configuration: valid"), Section(operators, title="Operators")]),
              fmt, cfg, session=session)


@app.command()
def init(
    config_path: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a starter config that makes the current OS account an owner (file mode 0600).

    Example: fluentlog init --config /etc/fluentlog/fluentlog.toml
    """
    from fluentlog import config
    path = config_path or Path(os.environ.get(config.CONFIG_ENV) or config.LOCAL_CONFIG)
    if path.exists():
        if not force:
            raise FluentlogError(f"{path} already exists; not overwritten", hint="pass --force to replace it")
        _authorize_init(path)
    text = config.starter_config(config.current_operator())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise FluentlogError(f"cannot write {path}: {exc.strerror}") from None
    err.print(f"Wrote {path} (mode 0600); {config.current_operator()} is its owner. "
              "Check it any time with: fluentlog status")


def _authorize_init(path: Path) -> None:
    """Replacing a config takes the `init` right under that config; writing the first needs none."""
    from fluentlog import access, config
    from fluentlog.errors import AccessDenied
    existing = config.load(path)
    decision = access.decide(config.current_operator(), "init", existing.operators, existing.roles, str(path))
    if not decision.allowed:
        raise AccessDenied(decision.message or "access denied", decision.hint)


@app.command()
def demo(fmt: FormatOpt = None) -> None:
    """Load the bundled sample workspace into a temporary database and tour the investigations.

    Example: fluentlog demo
    """
    from fluentlog.config import Config
    from fluentlog.demo import run_demo
    chosen = fmt or default_format()
    for command, explanation, view in run_demo():
        if chosen is Format.table:
            out.rule(command, align="left")
            out.print(explanation, style="italic", highlight=False)
        _show(view, chosen, Config())


