"""Speed and quality benchmarks. Each module ``benchmarks/<name>.py`` has a ``main()`` and runs alone as
``python -m benchmarks.<name>``; ``python -m benchmarks`` runs them all, one after another."""
