"""Per-task scikit-learn estimators for ``approach=classical``: one file per family (``logreg.py``, ``rf.py``), the
masked per-task fit and selection (``per_task.py``), the torch wrapper predict uses and the run's model file."""

from mtlkit.models.classical.family import EstimatorFamily, is_estimator_family
from mtlkit.models.classical.logreg import LogisticRegressionFamily
from mtlkit.models.classical.module import EstimatorsModule
from mtlkit.models.classical.per_task import ConstantProbability, TaskFit, fit_per_task, predict_per_task
from mtlkit.models.classical.rf import RandomForestFamily

__all__ = [
    "ConstantProbability",
    "EstimatorFamily",
    "EstimatorsModule",
    "LogisticRegressionFamily",
    "RandomForestFamily",
    "TaskFit",
    "fit_per_task",
    "is_estimator_family",
    "predict_per_task",
]
