"""The hostile-request harness: what anyone on the internet can send the served app (raw HTTP, raw sockets, the
pad's WebSocket), each attack with the outcome the app must give it (catalogue.py), and what it costs the server
(memory, disk, file descriptors) and its other visitors; also the load, fuzz and /feedback runners. Loopback only.

Used by tests/test_attacks.py and benchmarks/ (memory_attacks, fuzz_api, load_test, visitors, ...); needs
requirements-dev.txt. Never uploaded to the Space (scripts/space_files.py) and never imported by the app.
"""
