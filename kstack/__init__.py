"""kstack: the Linux network stack as a Python program you can run, read and trace."""
__version__ = "0.1.0"
