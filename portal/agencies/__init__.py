"""Agency directory: the bodies a report can be transferred to."""
