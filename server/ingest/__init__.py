"""The ingester: reads worker events from a Redis stream and stores them in SQL, in batches.

`Ingester` (consumer.py) owns the stream; `write_batch` (writer.py) owns the transaction.
Run it with `python -m server.ingest`, or inside the app with RUNYARD_INGEST_IN_PROCESS=true.
"""

from server.ingest.consumer import Ingester, IngestError
from server.ingest.writer import BatchResult, write_batch

__all__ = ["BatchResult", "IngestError", "Ingester", "write_batch"]
