"""drivers/: NIC drivers (only these and the servers do I/O)."""
