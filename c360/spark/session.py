"""The Spark session c360 runs on: local mode by default, any master passed through.

:func:`start` builds (or returns) the process's one SparkSession with what c360's SQL needs:

* ``spark.jars``: the JDBC drivers from Debian's packages (``libmariadb-java``,
  ``libpostgresql-jdbc-java``), never downloaded from Maven at run time; a missing jar is an
  error naming the package to install.
* ``spark.sql.timestampType=TIMESTAMP_NTZ`` and the session time zone UTC: c360's timestamps are
  naive (DuckDB's TIMESTAMP), so ``CAST(x AS TIMESTAMP)`` and JSON/JDBC reads keep wall-clock
  values instead of shifting them through a local time zone.
* ``SPARK_LOCAL_IP=127.0.0.1`` unless set: the driver binds to loopback on a machine whose host
  name resolves to an address it cannot bind.
* the UI off and few shuffle partitions for local mode (a local run of a few million rows spends
  more time scheduling 200 empty tasks than computing).

Secrets never go into the session's configuration: passwords travel as JDBC read options,
which Spark redacts, resolved from ``${ENV:...}`` only when a read is built (:mod:`c360.spark.sources`).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from c360.errors import ProgrammingError

#: JDBC driver jars: (what they are for, the Debian package, the paths it installs, first found wins).
JARS = (
    ("MariaDB/MySQL", "libmariadb-java", ("/usr/share/java/mariadb-java-client.jar",)),
    ("PostgreSQL", "libpostgresql-jdbc-java", ("/usr/share/java/postgresql.jar",)),
)

DEFAULT_MASTER = "local[*]"

#: Settings every c360 Spark session has (a caller's ``conf`` may override them).
BASE_CONF = {
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def jars() -> list[str]:
    """The JDBC driver jars, or ProgrammingError naming the Debian package that is missing."""
    found = []
    for purpose, package, paths in JARS:
        path = next((p for p in paths if Path(p).is_file()), None)
        if path is None:
            raise ProgrammingError(
                f"the {purpose} JDBC driver is missing ({' or '.join(paths)}): apt-get install -y {package}"
            )
        found.append(path)
    return found


def start(master: str | None = None, *, conf: dict | None = None, app_name: str = "c360"):
    """The process's SparkSession (created on first call with ``master``, default ``local[*]``).

    ``master`` is passed through as is (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``).
    Asking for a different master than the running session's is refused rather than ignored.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ProgrammingError("Spark is not installed: pip install 'c360[spark]' (Java 17 is needed too)") from None
    # c360 hands Spark Arrow, never pandas frames: PySpark's warning about pandas 3 does not concern it
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers score with this c360 and its pyarrow
    wanted = master or DEFAULT_MASTER
    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if master is not None and running != wanted:
            raise ProgrammingError(f"a Spark session on '{running}' is already running in this process; "
                                   f"it cannot switch to '{wanted}'")
        return active
    builder = SparkSession.builder.master(wanted).appName(app_name)
    settings = {**BASE_CONF, "spark.jars": ",".join(jars()), **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
