"""`make soak`: the capacity workload for an hour, with resource sampling and a slope test."""
