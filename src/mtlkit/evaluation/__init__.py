"""What a run reports: per-task metrics on labelled entries, results.json and its table, predictions to CSV."""

from mtlkit.evaluation.metrics import METRICS, MaskedMultilabelMetrics, task_metrics
from mtlkit.evaluation.predictions import data_config, predict, write_csv
from mtlkit.evaluation.results import RESULTS_FILE, load_results, print_metrics_table, write_results

__all__ = [
    "METRICS",
    "RESULTS_FILE",
    "MaskedMultilabelMetrics",
    "data_config",
    "load_results",
    "predict",
    "print_metrics_table",
    "task_metrics",
    "write_csv",
    "write_results",
]
