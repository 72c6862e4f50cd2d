-- Core schema: stores (tenants), users, auth tokens, products, sales, events,
-- opening hours, idempotency records and the forecast model registry.
-- Every tenant-owned row carries store_id; every query filters on it.

CREATE TABLE stores (
    store_id     BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    address      TEXT,
    country      TEXT NOT NULL DEFAULT 'ID',
    subdivision  TEXT,
    timezone     TEXT NOT NULL DEFAULT 'Asia/Jakarta',
    currency     TEXT NOT NULL DEFAULT 'IDR',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    user_id        BIGSERIAL PRIMARY KEY,
    store_id       BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    full_name      TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    is_active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_store_idx ON users (store_id);

-- Refresh tokens are rotated: each use marks the row used and issues a new one
-- in the same family; presenting a used token revokes the whole family.
CREATE TABLE refresh_tokens (
    jti         UUID PRIMARY KEY,
    family_id   UUID NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE opening_hours (
    store_id     BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    day_of_week  TEXT NOT NULL CHECK (day_of_week IN
                   ('Monday','Tuesday','Wednesday','Thursday','Friday','Saturday','Sunday')),
    open_time    TEXT NOT NULL DEFAULT '08:00' CHECK (open_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    close_time   TEXT NOT NULL DEFAULT '21:00' CHECK (close_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    is_closed    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, day_of_week)
);

CREATE TABLE products (
    product_id      BIGSERIAL PRIMARY KEY,
    store_id        BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    sku             TEXT NOT NULL,
    name            TEXT NOT NULL,
    category        TEXT NOT NULL,
    variation       TEXT,
    description     TEXT,
    price           NUMERIC(14, 2) NOT NULL CHECK (price >= 0),
    cost_price      NUMERIC(14, 2) CHECK (cost_price >= 0),
    stock           INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    lead_time_days  INTEGER NOT NULL DEFAULT 2 CHECK (lead_time_days BETWEEN 0 AND 365),
    service_level   NUMERIC(5, 4) NOT NULL DEFAULT 0.95 CHECK (service_level >= 0.5 AND service_level < 1),
    is_archived     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (store_id, sku)
);
CREATE INDEX products_store_created_idx ON products (store_id, created_at DESC, product_id DESC);
CREATE INDEX products_store_stock_idx ON products (store_id, stock);

-- One row per sold product line (the contract's "transaction"); lines of one
-- checkout share checkout_id.
CREATE TABLE transactions (
    transaction_id    BIGSERIAL PRIMARY KEY,
    store_id          BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    product_id        BIGINT NOT NULL REFERENCES products (product_id) ON DELETE RESTRICT,
    quantity_sold     INTEGER NOT NULL CHECK (quantity_sold > 0),
    price_per_unit    NUMERIC(14, 2) NOT NULL CHECK (price_per_unit >= 0),
    is_promo          BOOLEAN NOT NULL DEFAULT FALSE,
    transaction_date  TIMESTAMPTZ NOT NULL DEFAULT now(),
    checkout_id       UUID,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX transactions_store_date_idx ON transactions (store_id, transaction_date DESC, transaction_id DESC);
CREATE INDEX transactions_product_date_idx ON transactions (product_id, transaction_date);
CREATE INDEX transactions_checkout_idx ON transactions (checkout_id) WHERE checkout_id IS NOT NULL;

CREATE TABLE events (
    event_id               BIGSERIAL PRIMARY KEY,
    store_id               BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    event_name             TEXT NOT NULL,
    event_date             DATE NOT NULL,
    type                   TEXT NOT NULL CHECK (type IN ('promotion', 'holiday', 'store-closed')),
    description            TEXT,
    include_in_prediction  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX events_store_date_idx ON events (store_id, event_date);

-- Replayable responses for Idempotency-Key, written in the same transaction as
-- the effect they describe, so a retry can never apply the effect twice.
CREATE TABLE idempotency_keys (
    store_id      BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    scope         TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response      JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Model registry: every instance and worker reads models from here.
CREATE TABLE forecast_models (
    model_id          BIGSERIAL PRIMARY KEY,
    store_id          BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    product_id        BIGINT NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    method            TEXT NOT NULL,
    model             JSONB NOT NULL,
    metrics           JSONB NOT NULL DEFAULT '{}'::jsonb,
    train_start       DATE,
    train_end         DATE,
    data_fingerprint  TEXT NOT NULL,
    training_run_id   TEXT,
    trained_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (product_id, version),
    UNIQUE (product_id, training_run_id)
);
CREATE INDEX forecast_models_latest_idx ON forecast_models (store_id, product_id, version DESC);
