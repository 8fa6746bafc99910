"""obrolan's benchmark: `make bench` (python -m bench.run); see docs/performance.md."""
