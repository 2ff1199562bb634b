"""The pitch programme: items per day and stage, releases, live stage control."""
