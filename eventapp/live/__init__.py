"""The realtime hub: topics, fan-out across processes, websocket endpoints, snapshots."""
