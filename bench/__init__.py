"""Side-by-side speed measurements: python -m bench all (see README, "Performance")."""
