"""One thin module per DVC stage (``python -m ssl_mm.stages.<name>``): read its params group,
call the rooms of the package, write outputs and metrics, log an MLflow stage run."""
