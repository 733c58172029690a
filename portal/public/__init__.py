"""The public site: landing page, filing, receipt, status and replies."""
