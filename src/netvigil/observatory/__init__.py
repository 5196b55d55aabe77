"""The observatory server: collector, raw archive, pipeline to tables, data API."""
