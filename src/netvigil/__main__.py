"""`python -m netvigil`."""

from netvigil.cli import main

main()
