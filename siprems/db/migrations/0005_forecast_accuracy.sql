-- Issue 16: forecasts tracked against what sold.
-- One row per product and day: what the model in force before that day forecast, and what sold
-- (the actual is refreshed by every run: late or corrected sales count).
CREATE TABLE IF NOT EXISTS forecast_outcomes (
    store_id       BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    product_id     BIGINT NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    day            DATE NOT NULL,
    model_version  INTEGER NOT NULL,
    yhat           DOUBLE PRECISION NOT NULL,
    lo80           DOUBLE PRECISION NOT NULL,
    hi80           DOUBLE PRECISION NOT NULL,
    lo95           DOUBLE PRECISION NOT NULL,
    hi95           DOUBLE PRECISION NOT NULL,
    actual         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX IF NOT EXISTS forecast_outcomes_store_day_idx ON forecast_outcomes (store_id, day);

-- Rolling live accuracy per product (the last 28 days of outcomes) and the drift verdict.
CREATE TABLE IF NOT EXISTS forecast_accuracy (
    product_id       BIGINT PRIMARY KEY REFERENCES products (product_id) ON DELETE CASCADE,
    store_id         BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    model_version    INTEGER,
    window_start     DATE NOT NULL,
    window_end       DATE NOT NULL,
    days_scored      INTEGER NOT NULL,
    mase             DOUBLE PRECISION,
    wape             DOUBLE PRECISION,
    coverage80       DOUBLE PRECISION,
    coverage95       DOUBLE PRECISION,
    holdout_mase     DOUBLE PRECISION,
    drift            BOOLEAN NOT NULL DEFAULT FALSE,
    retrain_job_id   TEXT,
    computed_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS forecast_accuracy_store_idx ON forecast_accuracy (store_id);
