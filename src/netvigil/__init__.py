"""netvigil: an open observatory for Internet censorship and shutdowns.

The package is organised one module per concept (see docs/design/). The public
surface for analysis is re-exported from :mod:`netvigil.analysis`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
