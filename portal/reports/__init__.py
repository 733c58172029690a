"""Reports: filing, the status machine, triage and agency handling."""
