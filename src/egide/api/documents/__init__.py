"""`/v1/documents`: list, show, upload, relabel and delete documents."""
