"""`make chaos`: the fault suite over the whole local stack (see loadtests/chaos.py).

Modules: cluster (the stack plus a second worker and two schedulers), plugin
(the job type and schedule the schedulers fire every second), seed (users,
products, history, first models), traffic (the clients and what they were
promised), monitor (/ready, HAProxy, recovery), faults, invariants, report.
"""
