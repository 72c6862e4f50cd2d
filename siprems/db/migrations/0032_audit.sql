-- Audit trail: who changed what, when, with the values before and after.
-- Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE for
-- everyone, the application included (no foreign keys, so deleting a store or
-- a user never needs to touch it either).

CREATE TABLE audit_log (
    audit_id     BIGSERIAL PRIMARY KEY,
    store_id     BIGINT NOT NULL,
    user_id      BIGINT,
    user_email   TEXT,
    entity       TEXT NOT NULL,
    entity_id    TEXT,
    action       TEXT NOT NULL,
    before       JSONB,
    after        JSONB,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_store_time_idx ON audit_log (store_id, created_at DESC, audit_id DESC);
CREATE INDEX audit_log_store_entity_idx ON audit_log (store_id, entity, created_at DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
