"""`/v1/proposals`: human decisions on what the machine proposes."""
