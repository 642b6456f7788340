"""Running the Alembic migrations from code (`python -m server`, tests), from a checkout or an
installed package alike: the configuration is built here, so no alembic.ini is needed."""

from alembic import command
from alembic.config import Config

from server.bundled import migrations_dir


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # '%' would be read as interpolation by configparser (e.g. in an encoded password).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
