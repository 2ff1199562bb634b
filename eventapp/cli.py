"""`eventapp run | migrate | demo | create-organiser`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table as RichTable

from eventapp import db
from eventapp.settings import Settings

T = TypeVar("T")
console = Console()


def with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Open the configured database, run `work` against it, close it."""

    async def main() -> T:
        engine = db.engine_from_url(settings.resolved_database_url)
        db.activate(engine)
        await engine.start()
        try:
            return await work()
        finally:
            await engine.close()

    return asyncio.run(main())


@click.group()
def main() -> None:
    """Run a start-up pitch and investor matchmaking event."""


def uvicorn_options(settings: Settings, **overrides: object) -> dict:
    """How `eventapp run` serves (the request benchmark serves its bare app the same way)."""
    options: dict = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": settings.access_log,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        # Per-message compression costs about 64 KiB a websocket instead of 14 (live hub).
        "ws_per_message_deflate": settings.ws_compression,
    }
    options.update(overrides)
    return options


@main.command()
@click.option("--host", default=None, help="Default: EVENTAPP_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="Default: EVENTAPP_PORT or 8000")
@click.option("--workers", type=int, default=None, help="Default: EVENTAPP_WORKERS or 1")
@click.option("--reload", is_flag=True, help="Restart on code changes (development)")
def run(host: str | None, port: int | None, workers: int | None, reload: bool) -> None:
    """Serve the app with uvicorn."""
    import os

    import uvicorn

    # The app (in every worker) reads its settings from the environment: links it mails must
    # name the host and port it really serves on.
    if host:
        os.environ["EVENTAPP_HOST"] = host
    if port:
        os.environ["EVENTAPP_PORT"] = str(port)
    settings = Settings()
    uvicorn.run(
        "eventapp.app:create_app",
        factory=True,
        workers=None if reload else (workers or settings.workers),
        reload=reload,
        **uvicorn_options(settings),
    )


@main.command("send-mail")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
def send_mail(once: bool) -> None:
    """Deliver the outbox (every `eventapp run` process does this too)."""
    from eventapp.mail.sender import MailSender

    settings = Settings()
    sender = MailSender(settings)
    if sender.server is None:
        raise click.UsageError("Set EVENTAPP_SMTP_URL to send mail.")
    sent = with_database(settings, sender.deliver_due if once else sender.run)
    console.print(f"[green]Sent[/] {sent} messages")


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = Settings()
    with_database(settings, db.migrate)
    console.print(
        f"[green]Database is up to date[/] ({settings.resolved_database_url.split('@')[-1]})"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the logins as JSON, for scripts.")
@click.option(
    "--live",
    "live_s",
    is_flag=False,
    flag_value=8.0,
    type=float,
    default=None,
    help="Then serve, playing the first day forward (a stage action every N seconds, 8 by "
    "default) so the screens move.",
)
@click.pass_context
def demo(context: click.Context, as_json: bool, live_s: float | None) -> None:
    """Seed the demo event (once) and print fresh passwords for its five logins."""
    from eventapp.demo import DEMO_SLUG, SEED_STEPS, seed_demo

    settings = Settings()
    if as_json:
        logins = with_database(settings, lambda: seed_demo(lambda step: None))
        click.echo(json.dumps([{"role": r.value, "email": e, "password": p} for r, e, p in logins]))
        return
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("Seeding the demo event", total=SEED_STEPS)

        def advance(step: str) -> None:
            progress.update(task, advance=1, description=step)

        logins = with_database(settings, lambda: seed_demo(advance))
    table = RichTable(title=f"Demo logins for /{DEMO_SLUG} (new passwords each run)")
    for column in ("role", "email", "password"):
        table.add_column(column)
    for role, email, password in logins:
        table.add_row(role.value, email, password)
    console.print(table)
    console.print(f"Open {settings.base_url}/ and sign in.")
    if live_s:
        import os

        os.environ["EVENTAPP_DEMO_LIVE_S"] = str(live_s)
        console.print(f"Screen: {settings.base_url}/screen.html?event={DEMO_SLUG}")
        context.invoke(run, host=None, port=None, workers=1, reload=False)


@main.command("export-badges")
@click.argument("event")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def export_badges(event: str, out: str) -> None:
    """Write every valid ticket's badge of EVENT (its slug) into the PDF OUT, with a progress bar.

    The export is a job like the one the API starts: the servers see its progress.
    """
    import shutil

    from eventapp.events.service import event_by_slug
    from eventapp.tickets import exports

    settings = Settings()
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task(f"Badges of {event}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work():
            row = await event_by_slug(event)
            job = await exports.start_export(row["id"])
            claimed = await exports.claim(job["id"])
            if claimed is None:
                raise click.ClickException("A server took the job first; follow it in the API.")
            return await exports.run(claimed, settings.var_dir / "exports", advance)

        path = with_database(settings, work)
    shutil.copyfile(path, out)
    console.print(f"[green]Wrote[/] {out}")


@main.command("create-organiser")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option(help="At least 10 characters")
def create_organiser(email: str, name: str, password: str) -> None:
    """Create an administrator, who can create events and becomes their organiser."""
    from eventapp.accounts.security import MIN_PASSWORD_LENGTH
    from eventapp.accounts.service import create_user

    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(
            f"use at least {MIN_PASSWORD_LENGTH} characters", param_hint="password"
        )
    settings = Settings()
    with_database(
        settings,
        lambda: create_user(
            email, name=name, password=password, is_admin=True, email_verified=True
        ),
    )
    console.print(f"[green]Created[/] {email}. Sign in at {settings.base_url}/")


if __name__ == "__main__":
    main()
