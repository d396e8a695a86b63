"""``mtlkit-report``: read the results.json of runs and multiruns; tables, Δm and plots.

``collect`` finds runs (succeeded, failed, missing), ``aggregate`` groups them by swept key with mean ± std over
seeds, ``delta`` computes Δm against a baseline, ``build`` puts it together, ``tables``/``write``/``plots`` render;
``task_plots`` draws the task-gradient heatmaps and the task weights.
"""

from mtlkit.report.build import Options, Report, build_report
from mtlkit.report.delta import BaselineSpec

__all__ = ["BaselineSpec", "Options", "Report", "build_report"]
