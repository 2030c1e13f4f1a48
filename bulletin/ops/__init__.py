"""Operating bulletin: health and readiness, metrics, and the operator's commands."""
