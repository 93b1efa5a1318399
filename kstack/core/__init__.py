"""net/core and the kernel services it leans on (timers, clock, sysctl, MIB)."""
