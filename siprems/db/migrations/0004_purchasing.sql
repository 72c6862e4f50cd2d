-- Purchasing: suppliers, the purchasing fields of a product, purchase orders
-- with their lines, webhooks and their delivery log. Every row carries
-- store_id; code checks that a referenced supplier/product is of the same store.

CREATE TABLE suppliers (
    supplier_id     BIGSERIAL PRIMARY KEY,
    store_id        BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    contact         TEXT,
    email           TEXT,
    phone           TEXT,
    lead_time_days  INTEGER NOT NULL DEFAULT 2 CHECK (lead_time_days BETWEEN 0 AND 365),
    notes           TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX suppliers_store_name_key ON suppliers (store_id, lower(name));

-- lead_time_from_supplier: products.lead_time_days (what the stock policy
-- reads) is kept equal to the preferred supplier's lead time; it turns false
-- as soon as the product's own lead time is changed by anything but that sync.
ALTER TABLE products
    ADD COLUMN preferred_supplier_id    BIGINT REFERENCES suppliers (supplier_id) ON DELETE SET NULL,
    ADD COLUMN supplier_sku             TEXT,
    ADD COLUMN pack_size                INTEGER NOT NULL DEFAULT 1 CHECK (pack_size BETWEEN 1 AND 100000),
    ADD COLUMN lead_time_from_supplier  BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX products_supplier_idx ON products (preferred_supplier_id) WHERE preferred_supplier_id IS NOT NULL;

CREATE FUNCTION products_lead_time_override() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The supplier sync marks its transaction with set_config(..., true) (transaction-local).
    IF NEW.lead_time_days IS DISTINCT FROM OLD.lead_time_days
       AND coalesce(current_setting('siprems.lead_time_sync', true), '') <> 'on' THEN
        NEW.lead_time_from_supplier := FALSE;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_lead_time_override BEFORE UPDATE OF lead_time_days ON products
    FOR EACH ROW EXECUTE FUNCTION products_lead_time_override();

CREATE TABLE purchase_orders (
    po_id          BIGSERIAL PRIMARY KEY,
    store_id       BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    supplier_id    BIGINT NOT NULL REFERENCES suppliers (supplier_id) ON DELETE RESTRICT,
    status         TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                     ('draft', 'ordered', 'partially_received', 'received', 'cancelled')),
    notes          TEXT,
    expected_date  DATE,
    ordered_at     TIMESTAMPTZ,
    received_at    TIMESTAMPTZ,
    cancelled_at   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX purchase_orders_store_idx ON purchase_orders (store_id, status, po_id DESC);
CREATE INDEX purchase_orders_supplier_idx ON purchase_orders (supplier_id);

CREATE TABLE purchase_order_lines (
    line_id            BIGSERIAL PRIMARY KEY,
    po_id              BIGINT NOT NULL REFERENCES purchase_orders (po_id) ON DELETE CASCADE,
    store_id           BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    product_id         BIGINT NOT NULL REFERENCES products (product_id) ON DELETE RESTRICT,
    quantity           INTEGER NOT NULL CHECK (quantity > 0),
    quantity_received  INTEGER NOT NULL DEFAULT 0 CHECK (quantity_received >= 0),
    unit_cost          NUMERIC(14, 2) CHECK (unit_cost >= 0),
    UNIQUE (po_id, product_id)
);
CREATE INDEX purchase_order_lines_product_idx ON purchase_order_lines (product_id);

CREATE TABLE webhooks (
    webhook_id  BIGSERIAL PRIMARY KEY,
    store_id    BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    events      TEXT[] NOT NULL,
    secret      TEXT NOT NULL,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_store_idx ON webhooks (store_id);

-- One row per event sent to one endpoint; `attempts` logs each try.
CREATE TABLE webhook_deliveries (
    delivery_id   TEXT PRIMARY KEY,
    webhook_id    BIGINT NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    store_id      BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    event         TEXT NOT NULL,
    payload       JSONB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
    attempt_count INTEGER NOT NULL DEFAULT 0,
    attempts      JSONB NOT NULL DEFAULT '[]'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at  TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, created_at DESC);
