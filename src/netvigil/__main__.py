"""`python -m netvigil`."""

from netvigil.cli.main import main

main()
