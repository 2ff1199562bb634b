"""Mail: an outbox written in the transaction that causes a message, delivered in the background."""
