"""Wiring only: `build_app(settings)` makes the Application, `run_bot` runs it.

The same factory and the same `serve()` loop are used by `notelens bot`, the
end-to-end tests and the load benchmark, so what is tested is what runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    TypeHandler,
)

from ..config import Settings
from ..pipeline.errors import ConfigError
from ..store import Store
from . import notes, receipts, tasks, web
from .context import SERVICES_KEY, BotApp, CustomContext, PipelineLike, Services, services_of
from .errors import install_redaction, on_error, quiet_noisy_loggers, redact
from .flood import SharedRateLimiter
from .gate import gate
from .intake import add_intake
from .polling import poll
from .scheduling import AlbumCollector, Lanes
from .tasks.buttons import on_unknown_button

log = logging.getLogger(__name__)

EXIT_OK, EXIT_CONFIG, EXIT_NETWORK = 0, 3, 4
# Updates handled at once. Handlers only queue work, so this bounds little.
CONCURRENT_UPDATES = 256
PRUNE_EVERY_S = 6 * 3600  # old jobs and the links of our messages to them


def add_handlers(app: BotApp) -> None:
    """The gate first (group -1), then each feature's handlers: receipts before the general
    tasks (their photo takers are asked first), and a quiet answer for unknown buttons."""
    app.add_handler(TypeHandler(Update, gate), group=-1)
    receipts.register(app)
    notes.register(app)  # before the tasks: `/notes` alone is the archive, not a task
    tasks.register(app)
    web.register(app)
    add_intake(app)
    app.add_handler(CallbackQueryHandler(on_unknown_button))


def build_app(
    settings: Settings, pipeline: PipelineLike | None = None, store: Store | None = None
) -> BotApp:
    """The bot over `pipeline` (built from settings when not given) and `store`."""
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set it.",
            code="no_token",
        )
    token = settings.telegram_bot_token.get_secret_value().strip()
    secrets = [token]
    for key in (settings.vlm_api_key, settings.llm_api_key, settings.webhook_secret):
        if key is not None:
            secrets.append(key.get_secret_value())
    install_redaction(*secrets)
    owns_store = store is None
    store = store or Store.from_settings(settings)

    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=CustomContext))
        .concurrent_updates(CONCURRENT_UPDATES)
        .rate_limiter(SharedRateLimiter(store, max_retries=3))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .media_write_timeout(60)
        # No Updater: `polling.poll` or the webhook feed updates in and confirm them only
        # after they were handled.
        .updater(None)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    if settings.telegram_file_base_url:
        builder = builder.base_file_url(settings.telegram_file_base_url)
    app: BotApp = builder.build()

    owns_pipeline = pipeline is None
    if pipeline is None:
        from ..pipeline.service import Pipeline

        pipeline = Pipeline(settings)
    app.bot_data[SERVICES_KEY] = Services(
        settings=settings,
        pipeline=pipeline,
        store=store,
        lanes=Lanes(max_running=max(4, settings.vlm_max_concurrency * 2)),
        albums=AlbumCollector(settings.album_wait_s),
        owns_pipeline=owns_pipeline,
        owns_store=owns_store,
    )
    add_handlers(app)
    app.add_error_handler(on_error)
    return app


async def _prune(ctx: CustomContext) -> None:
    """Forget jobs past their retention (their buttons then say "gone"), readings that
    nobody confirmed and archived notes past ARCHIVE_RETENTION_DAYS."""
    jobs = await ctx.services.store.prune()
    readings = await ctx.services.ledger.prune()
    notes_ = await ctx.services.archive.prune()
    log.info("pruned %s old jobs, %s unconfirmed readings, %s notes", jobs, readings, notes_)


async def _post_init(app: BotApp) -> None:
    s = services_of(app)
    await s.store.open()
    await s.ledger.load()
    if s.settings.durable_jobs:
        from .durable import make_engine

        s.jobs = make_engine(app, s)
        await s.jobs.start()
    if app.job_queue is not None:
        app.job_queue.run_repeating(_prune, interval=PRUNE_EVERY_S, first=PRUNE_EVERY_S)
    try:
        await app.bot.set_my_commands(tasks.menu("en"))
        await app.bot.set_my_commands(tasks.menu("zh"), language_code="zh")
    except TelegramError as exc:  # the menu is a nicety; never fail start-up for it
        log.warning("setMyCommands failed: %s", redact(str(exc)))


async def _post_stop(app: BotApp) -> None:
    """Finish the work already accepted (albums waiting included) within SHUTDOWN_GRACE_S in
    all, then shut down; durable jobs that did not finish resume at the next start."""
    s = services_of(app)
    grace = s.settings.shutdown_grace_s
    loop = asyncio.get_running_loop()
    began = loop.time()
    s.albums.flush()
    try:
        await s.lanes.join(grace)
    except TimeoutError:
        log.warning("work still running after %.0f s; cancelling it", grace)
        await s.lanes.cancel()
    if s.jobs is not None:
        await s.jobs.stop(max(0.0, grace - (loop.time() - began)))
        s.jobs = None


async def _post_shutdown(app: BotApp) -> None:
    s = services_of(app)
    if s.owns_store:
        await s.store.close()
    if s.owns_pipeline:
        await s.pipeline.aclose()


@contextlib.asynccontextmanager
async def running(app: BotApp) -> AsyncIterator[BotApp]:
    """The bot started (getMe, menu, store open) for the body, then stopped cleanly: accepted
    work finishes within the grace period. Raises InvalidToken when Telegram rejects the token.
    """
    try:
        await app.initialize()
    except BaseException:  # e.g. InvalidToken from getMe: release the HTTP clients anyway
        await app.bot.shutdown()
        await _post_shutdown(app)
        raise
    try:
        await _post_init(app)
        await app.start()
        log.info("NoteLens bot @%s is running", app.bot.username)
        try:
            yield app
        finally:
            if app.running:
                await app.stop()
                await _post_stop(app)
    finally:
        await app.shutdown()
        await _post_shutdown(app)


async def serve(app: BotApp, stop: asyncio.Event, *, poll_timeout: float = 30) -> None:
    """Long-poll until `stop` is set, then stop cleanly."""
    async with running(app):
        await poll(app, stop, poll_timeout=poll_timeout)


async def work(app: BotApp, stop: asyncio.Event) -> None:
    """Run jobs only (no updates taken) until `stop` is set: `notelens worker`."""
    async with running(app):
        await stop.wait()


def run_bot(settings: Settings, *, worker: bool = False) -> int:
    """`notelens bot` (long polling and jobs) or, with `worker`, `notelens worker` (jobs of
    a deployment that takes updates by webhook). Runs until SIGINT/SIGTERM.
    Exit codes: 0 ok, 3 token, 4 network."""
    name = "worker" if worker else "bot"
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    quiet_noisy_loggers()
    # PTB 22 warns on every RetryAfter unless durations are timedeltas; we read none of them.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    try:
        app = build_app(settings)
    except ConfigError as exc:
        print(f"notelens {name}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if worker and not settings.durable_jobs:
        print("notelens worker: runs durable jobs; DURABLE_JOBS is false", file=sys.stderr)
        return EXIT_CONFIG

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await (work(app, stop) if worker else serve(app, stop))

    try:
        asyncio.run(main())
    except InvalidToken:
        print(
            f"notelens {name}: Telegram rejected TELEGRAM_BOT_TOKEN (401/404 from getMe). "
            "Check the token with @BotFather.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except NetworkError as exc:
        print(
            f"notelens {name}: cannot reach the Telegram Bot API: {redact(str(exc))}",
            file=sys.stderr,
        )
        return EXIT_NETWORK
    except KeyboardInterrupt:
        pass
    return EXIT_OK
