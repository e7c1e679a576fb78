"""Knowledge: classification-aware ingestion, hybrid retrieval, grounded answers."""
