"""Start-up applications, their review, and the selection of those who pitch."""
