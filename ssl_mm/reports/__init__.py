"""Paper tables and plots, regenerated from the pipeline's metrics files."""
