"""Hydra callbacks for multiruns: the comparison table at the end, and a record of every failed job."""

from mtlkit.sweeps.failed_jobs import RecordFailedJob
from mtlkit.sweeps.summary import SweepSummary, print_summary, summary_rows

__all__ = ["RecordFailedJob", "SweepSummary", "print_summary", "summary_rows"]
