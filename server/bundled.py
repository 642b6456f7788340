"""Where the server finds the files that are not Python modules: the Alembic migrations and the
built dashboard. An installed package carries them in `server/_bundled/` (the wheel build puts
them there, see setup.py); a source checkout has them at `migrations/` and `web/dist/`."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_bundled"
_CHECKOUT = _PACKAGE.parent


def migrations_dir() -> Path:
    bundled = _BUNDLED / "migrations"
    return bundled if (bundled / "env.py").is_file() else _CHECKOUT / "migrations"


def dashboard_dir() -> Path:
    """The build to serve. In a checkout that is `web/dist` even before it exists: the server
    serves it from the moment it is built, without a restart."""
    bundled = _BUNDLED / "dashboard"
    return bundled if (bundled / "index.html").is_file() else _CHECKOUT / "web" / "dist"
