-- Stock ledger: every change of products.stock is a row here, written in the
-- same transaction as the change (siprems/inventory/ledger.py is the only
-- writer). Invariant: a product's stock = the sum of its movements' deltas
-- (the 'opening' movement carries the balance a product started with), and
-- balance_after is the stock right after that movement.

CREATE TABLE stock_movements (
    movement_id    BIGSERIAL PRIMARY KEY,
    store_id       BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    product_id     BIGINT NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN
                     ('opening', 'sale', 'import', 'adjustment', 'stocktake', 'receipt', 'return')),
    delta          INTEGER NOT NULL,
    balance_after  INTEGER NOT NULL CHECK (balance_after >= 0),
    user_id        BIGINT REFERENCES users (user_id) ON DELETE SET NULL,
    reference      TEXT,
    reason         TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_store_time_idx ON stock_movements (store_id, created_at DESC, movement_id DESC);
CREATE INDEX stock_movements_product_time_idx ON stock_movements (product_id, created_at, movement_id);

-- Who sold a line (a cashier sees their own sales of today).
ALTER TABLE transactions ADD COLUMN user_id BIGINT REFERENCES users (user_id) ON DELETE SET NULL;
CREATE INDEX transactions_user_date_idx ON transactions (user_id, transaction_date DESC) WHERE user_id IS NOT NULL;

-- Products that existed before the ledger start with their current stock.
INSERT INTO stock_movements (store_id, product_id, kind, delta, balance_after, reference, created_at)
SELECT store_id, product_id, 'opening', stock, stock, 'ledger start', created_at
  FROM products;
