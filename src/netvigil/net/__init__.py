"""The network library: every step a measurement or a delivery takes on the network."""
