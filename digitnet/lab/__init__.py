"""What only trains and evaluates: MNIST loading, training recipes, probe families of non-digits, digits re-drawn
as the app receives them, calibration fitting, metrics, reports, and the app served in its own process to tests
and benchmarks (the hostile requests sent to it are in attacks/). Needs requirements-dev.txt; the served app
(digitnet/) never imports it.
"""
