"""khudan: a field-survey server for ODK Collect (poverty review, cultural family, per-area results)."""
