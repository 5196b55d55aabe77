"""Detection: when blocking starts and ends, shutdowns and outages (docs/design/008)."""
