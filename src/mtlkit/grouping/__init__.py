"""Which tasks should share a network: task affinity measured in training (``affinity=tag``), and the search for
the best grouping into k networks (``approach=grouped``, ``mtlkit-advise``)."""

from mtlkit.grouping.affinity import TaskAffinity, affinity_matrix, lookahead_affinity
from mtlkit.grouping.files import plot_affinity, read_affinity, write_affinity_csv
from mtlkit.grouping.search import Grouping, best_grouping, best_groupings, recommended

__all__ = [
    "Grouping",
    "TaskAffinity",
    "affinity_matrix",
    "best_grouping",
    "best_groupings",
    "lookahead_affinity",
    "plot_affinity",
    "read_affinity",
    "recommended",
    "write_affinity_csv",
]
