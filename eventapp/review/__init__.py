"""Review of applications: criteria, reviewer assignment, scores, and the selection board."""
