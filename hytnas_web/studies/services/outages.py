"""Telling an error of a service that went away (Redis, the database connection) from a genuine one.

A service error is not the study's fault: the work it interrupted is left due and runs again once
the service is back. Anything else (a configuration the evaluator cannot build, a bug, a query
error on a working connection) is a genuine failure and is reported as one.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from hytnas_web.studies.services.scheduling import QUEUE_UNREACHABLE

LOST_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")
"""SQLSTATEs of a lost database server: connection exceptions, and the server shutting down or restarting."""


def service_unavailable(exc: BaseException) -> bool:
    """True for an error of a service that went away (Redis, or the database connection), not of the study.

    ``OperationalError`` also covers faults of the query itself (a missing table, a deadlock, a locked
    SQLite file): those stay genuine failures. The driver's error under it tells them apart: a lost
    connection has a connection-class SQLSTATE, or none at all (the client found the socket closed).
    Asking the connection afterwards does not work: a failed transaction's clean-up reconnects.
    """
    if isinstance(exc, (*QUEUE_UNREACHABLE, InterfaceError)):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is None or type(cause).__module__.split(".")[0] == "sqlite3":
        return False  # raised by our own code, or by a database file rather than a server
    sqlstate = getattr(cause, "sqlstate", None)
    return not sqlstate or str(sqlstate).startswith(LOST_CONNECTION_SQLSTATES)
