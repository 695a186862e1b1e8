"""The `ticket-stages` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from ticket_stages.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticket-stages", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate if needed, then serve HTTP and websockets")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="do not run background work here")
    serve.add_argument("--demo", action="store_true", help="create a demo workspace if none exists")
    commands.add_parser("worker", help="run only the background work")
    commands.add_parser("migrate", help="bring the database schema up to date")
    create = commands.add_parser("create-workspace", help="create a workspace and print its key")
    create.add_argument("name")
    create.add_argument("--role", default="ADMIN", choices=["ADMIN", "MANAGER", "AGENT", "VIEWER"])
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "export-schema":
        from api.schema import export_sdl

        sys.stdout.write(export_sdl())
        return 0
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"ticket-stages: configuration error: {error}", file=sys.stderr)
        return 2
    from ticket_stages.logs import configure_logging

    configure_logging(json_lines=settings.log_json)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("database schema is up to date", file=sys.stderr)
        return 0
    if args.command == "create-workspace":
        return asyncio.run(_create_workspace(settings, args.name, args.role))
    if args.command == "worker":
        from ticket_stages.processes import run_worker_process

        asyncio.run(run_worker_process(settings))
        return 0
    if args.command == "serve":
        from ticket_stages.processes import serve

        return serve(
            settings, host=args.host, port=args.port, worker=not args.no_worker, demo=args.demo
        )
    return 2


async def _migrate(settings: Settings) -> None:
    from models.database import migrate, open_database

    async with open_database(settings.database_url, pool_size=2) as ctx:
        await migrate(ctx)


async def _create_workspace(settings: Settings, name: str, role: str) -> int:
    from desk.errors import DeskError
    from desk.service import Desk
    from desk.workspaces import create_workspace
    from models import Role
    from models.database import migrate, open_database

    async with open_database(settings.database_url, pool_size=2) as ctx:
        await migrate(ctx)
        try:
            workspace, secret = await create_workspace(Desk(), name, Role(role))
        except DeskError as error:
            print(f"ticket-stages: {error.message}", file=sys.stderr)
            return 2
    print(json.dumps({"workspaceId": str(workspace.id), "apiKey": secret}))
    return 0


if __name__ == "__main__":
    logging.basicConfig()
    raise SystemExit(main())
