"""`/v1/audit/entries`: the journal, read by auditors under the label filter."""
