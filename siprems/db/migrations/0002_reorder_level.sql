-- Issue 14: the stock policy's fallback when a product has no forecast model yet:
-- stock at or below reorder_level is low (the earlier fixed rule was stock <= 5).
ALTER TABLE products
    ADD COLUMN IF NOT EXISTS reorder_level INTEGER NOT NULL DEFAULT 5
        CHECK (reorder_level BETWEEN 0 AND 1000000);
