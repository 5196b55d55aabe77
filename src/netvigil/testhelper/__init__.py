"""The control vantage: a Web Connectivity test helper speaking OONI's TH protocol."""
