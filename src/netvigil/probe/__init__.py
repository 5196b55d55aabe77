"""The probe: what `netvigil probe run` measures, where it keeps data, and with whose consent."""
