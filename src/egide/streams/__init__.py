"""Real-time analysis of communications flows: messages, extraction, watchlists and alerts."""
