"""`newsroom-views`: migrations, the consumers and the rebuild of counts."""

from __future__ import annotations

import argparse
import logging
import sys

from newsroom_common.config import exit_on_settings_error
from newsroom_common.logs import configure_logging
from newsroom_common.migrations import upgrade
from newsroom_common.worker import StopFlag
from newsroom_views import config

MIGRATIONS = "newsroom_views.adapters:migrations"
log = logging.getLogger("newsroom_views.cli")


def migrate(_args: argparse.Namespace) -> int:
    """Apply the database migrations."""
    settings = config.load()
    configure_logging(service="views-migrate", level=settings.log_level)
    upgrade(url=settings.database_url.get(), script_location=MIGRATIONS)
    log.info("migrations applied")
    return 0


def consume(_args: argparse.Namespace) -> int:
    """Count views and keep the replicas until SIGTERM."""
    from newsroom_views.bootstrap import bootstrap
    from newsroom_views.entrypoints import consumers

    return consumers.run(bootstrap(process="consume"))


def rebuild(args: argparse.Namespace) -> int:
    """Recount every view from the topic and swap the result in."""
    from newsroom_views.bootstrap import bootstrap
    from newsroom_views.service_layer.rebuild import rebuild as run_rebuild

    services = bootstrap(process="rebuild")
    configure_logging(service="views-rebuild", level=services.settings.log_level)
    try:
        report = run_rebuild(
            services,
            stop=StopFlag().install(),
            wait_timeout_s=args.wait_timeout,
            max_batches=args.max_batches,
            batch_size=args.batch_size,
        )
    except (LookupError, RuntimeError) as exc:
        print(f"rebuild: {exc}", file=sys.stderr)
        return 2
    print(report.summary(), flush=True)
    return 0 if report.done else 3


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `newsroom-views` command."""
    parser = argparse.ArgumentParser(prog="newsroom-views")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help=migrate.__doc__).set_defaults(func=migrate)
    commands.add_parser("consume", help=consume.__doc__).set_defaults(func=consume)
    rebuild_cmd = commands.add_parser("rebuild", help=rebuild.__doc__)
    rebuild_cmd.add_argument(
        "--wait-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the live consumers to reach the rebuild (default 600)",
    )
    rebuild_cmd.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="stop after this many batches (the next run resumes); for tests and drills",
    )
    rebuild_cmd.add_argument(
        "--batch-size", type=int, default=5000, help="records per transaction (default 5000)"
    )
    rebuild_cmd.set_defaults(func=rebuild)
    args = parser.parse_args(argv)
    with exit_on_settings_error(parser.prog):
        sys.exit(args.func(args))
