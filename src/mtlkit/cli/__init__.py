"""The console scripts, thin: ``mtlkit-train`` (:mod:`.train`), ``mtlkit-predict`` (:mod:`.predict`) and
``mtlkit-report`` (:mod:`.report`). Nothing is imported here, so that ``--help`` stays fast."""

__all__: list[str] = []
