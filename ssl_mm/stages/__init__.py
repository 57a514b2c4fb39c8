"""One thin module per DVC stage (``python -m ssl_mm.stages.<name>``): read its params group,
call the rooms of the package, write outputs and metrics, log an MLflow stage run."""
from .warm import hand_over_if_served

hand_over_if_served()  # under scripts/run.sh, `python -m ssl_mm.stages.<name>` runs in the warm stage server
