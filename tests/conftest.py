"""Suite-wide settings: hypothesis runs without per-example deadlines (the suite runs
two workers on a 2-core machine, where a slow example says nothing about the code)."""
from hypothesis import settings

settings.register_profile("kstack", deadline=None)
settings.load_profile("kstack")
