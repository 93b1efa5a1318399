"""Command-line tools named after their Linux models (ip, ss, ping, tcpdump, ...)."""
