"""`python -m server`: migrate the database, bootstrap the admin on first start, serve."""

import sys

import uvicorn

from server.app import create_app
from server.db import make_engine, make_session_factory
from server.schema_migrations import upgrade_to_head
from server.settings import settings_or_exit
from server.users.bootstrap import BOOTSTRAP_EMAIL, bootstrap_admin


def main() -> int:
    settings = settings_or_exit("server")
    upgrade_to_head(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            token = bootstrap_admin(session)
    finally:
        engine.dispose()
    if token is not None:
        print(
            f"Created the administrator {BOOTSTRAP_EMAIL}. Its API token, shown only this once:\n"
            f"  {token}\n"
            "Keep it safe: use it to create users (POST /api/v1/users) and worker tokens.",
            flush=True,
        )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
