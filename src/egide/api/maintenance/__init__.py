"""`POST /v1/maintenance/plan`: a fleet's workshop plan, proposed for a human decision."""
