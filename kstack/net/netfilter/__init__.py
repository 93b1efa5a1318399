"""net/netfilter: the hook core (core.py); tables (ip_tables, iptable_filter, nat) come later."""
