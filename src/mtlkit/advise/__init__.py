"""``mtlkit-advise``: run the approaches side by side on the user's data and state which to use, with evidence."""

from mtlkit.advise.plan import Arm, Plan
from mtlkit.advise.verdict import ArmResult, Verdict, build_verdict, recommend

__all__ = ["Arm", "ArmResult", "Plan", "Verdict", "build_verdict", "recommend"]
