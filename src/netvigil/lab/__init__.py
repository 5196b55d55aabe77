"""The lab: servers, a CA and (later) namespaces that reproduce censorship for tests and demos."""
