"""The planning benchmark: routing instances, the two solvers compared, an independent checker."""
