"""net/: the protocol families (ethernet, ipv4, packet) and the socket layer."""
