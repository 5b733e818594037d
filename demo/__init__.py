"""Demo and benchmark data for development (seed_demo, bench_seed); see demo/apps.py."""
