"""The event itself: its days, stages and meeting tables, in the event's own time zone."""
