"""`POST /v1/intelligence/synthesis`: an assessed report, proposed for a human decision."""
