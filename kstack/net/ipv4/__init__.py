"""net/ipv4: the IPv4 family, one module per kernel .c file (route.c -> route.py, ...)."""
