"""Production-like settings for the HTTP benchmarks, plus the reference URLs."""

from capsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
