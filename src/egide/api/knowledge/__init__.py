"""`/v1/knowledge`: search and grounded answers over labelled documents."""
