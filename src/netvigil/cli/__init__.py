"""The command line: `netvigil` and its command groups (see main.py)."""
