"""The approaches ``approach=`` chooses: multitask (in mtlkit.pipeline), separate and transfer.

Each is a function ``run(cfg, dm) -> dict`` that builds, trains and evaluates its networks on the data module
``dm`` and returns what goes into results.json (metrics with the same per-task keys for every approach).
"""
