"""Matchmaking: investor profiles, fit scores, interests, meeting slots, the meeting scheduler."""
