"""Live data for subscriptions, shared by every subscriber of a process."""
