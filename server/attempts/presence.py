"""The server records that it is up, every few seconds, in SQL. The scheduler counts a
worker's silence on HTTP only while this record is fresh: while the server is down (a restart,
an upgrade), no heartbeat could have arrived, so nobody's silence means anything."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from server.attempts.models import ServicePresence
from server.db import utcnow

log = logging.getLogger(__name__)

SERVER = "server"
INTERVAL_SECONDS = 2.0


def record_presence(sessions: sessionmaker[Session], name: str = SERVER) -> None:
    with sessions() as session:
        row = session.get(ServicePresence, name)
        if row is None:
            session.add(ServicePresence(name=name, seen_at=utcnow()))
        else:
            row.seen_at = utcnow()
        session.commit()


@contextmanager
def presence_beacon(app: FastAPI) -> Iterator[None]:
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                record_presence(app.state.session_factory)
            except SQLAlchemyError as exc:
                log.warning("could not record the server's presence: %s", exc)
            if stop.wait(INTERVAL_SECONDS):
                return

    thread = threading.Thread(target=beat, name="presence", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
