"""Ingest: Fluent exports (JSON Lines, JSON arrays, Parquet; gzip) into the event store."""

from fluentlog.ingest.files import expand
from fluentlog.ingest.load import IngestOptions, check_spill_folder, ingest, ingest_file
from fluentlog.ingest.report import FileReport, LoadReport, report_view

__all__ = ["FileReport", "check_spill_folder", "expand", "IngestOptions", "LoadReport", "ingest", "ingest_file",
           "report_view"]
