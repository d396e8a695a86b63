"""What a run reports: per-task metrics on labelled entries, example-based multi-label metrics, decision thresholds
(``eval.threshold``), results.json and its tables, predictions to CSV (docs/metrics.md)."""

from mtlkit.evaluation.evaluator import Evaluator
from mtlkit.evaluation.example_metrics import EXAMPLE_METRICS, LOWER_IS_BETTER, example_based_metrics
from mtlkit.evaluation.metrics import METRICS, MaskedMultilabelMetrics, task_metrics
from mtlkit.evaluation.predictions import data_config, predict, write_csv
from mtlkit.evaluation.results import RESULTS_FILE, load_results, print_metrics_table, write_results
from mtlkit.evaluation.thresholds import checkpoint_thresholds, choose_f1_thresholds, threshold_rule

__all__ = [
    "EXAMPLE_METRICS",
    "Evaluator",
    "LOWER_IS_BETTER",
    "METRICS",
    "RESULTS_FILE",
    "MaskedMultilabelMetrics",
    "checkpoint_thresholds",
    "choose_f1_thresholds",
    "data_config",
    "example_based_metrics",
    "load_results",
    "predict",
    "print_metrics_table",
    "task_metrics",
    "threshold_rule",
    "write_csv",
    "write_results",
]
