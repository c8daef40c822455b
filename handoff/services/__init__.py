"""Services own every database write; callers never see a session."""
