"""Analysis of OONI-format measurements: classic keys, layered verdicts, fingerprints."""
