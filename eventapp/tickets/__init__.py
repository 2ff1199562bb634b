"""Tickets: signed ticket secrets that a scanner verifies offline, and their QR codes."""
