"""Sales: one row in `transactions` per sold product line; the lines of one
checkout share a checkout_id. Reading them (`ledger`) and selling
atomically with stock decrements (`selling`). No Sanic imports."""
