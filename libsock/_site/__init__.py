"""Not imported: this directory goes first on PYTHONPATH under `kstack exec`, so that
Python runs its sitecustomize.py (which installs libsock) at startup."""
