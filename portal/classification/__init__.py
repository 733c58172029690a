"""Pre-classification of reports by the standalone ``classifier`` package."""
