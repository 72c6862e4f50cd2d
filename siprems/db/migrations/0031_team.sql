-- Team: the members of a store with their role, and invitations to join one.
-- users.store_id stays the user's active store (the one their tokens name).

CREATE TABLE store_members (
    store_id    BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    invited_by  BIGINT REFERENCES users (user_id) ON DELETE SET NULL,
    joined_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX store_members_user_idx ON store_members (user_id);

-- Every user so far registered their own store: its owner.
INSERT INTO store_members (store_id, user_id, role, joined_at)
SELECT store_id, user_id, 'owner', created_at FROM users;

-- Only a hash of the token is kept; the token itself is shown once, at creation.
CREATE TABLE invitations (
    invitation_id  BIGSERIAL PRIMARY KEY,
    store_id       BIGINT NOT NULL REFERENCES stores (store_id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    token_hash     TEXT NOT NULL UNIQUE,
    invited_by     BIGINT REFERENCES users (user_id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    accepted_at    TIMESTAMPTZ,
    accepted_by    BIGINT REFERENCES users (user_id) ON DELETE SET NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX invitations_store_idx ON invitations (store_id, created_at DESC);
