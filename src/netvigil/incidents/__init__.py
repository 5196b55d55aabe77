"""Incidents: claims of violations with executable evidence, shared at graded levels."""
