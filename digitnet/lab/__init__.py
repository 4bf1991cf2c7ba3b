"""What only trains and evaluates: MNIST loading, training recipes, probe families of non-digits, digits re-drawn
as the app receives them, calibration fitting, metrics, reports, and the harness that serves the app to tests and
benchmarks. Needs requirements-dev.txt; the served app (digitnet/) never imports it.
"""
