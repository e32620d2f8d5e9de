-- Demo schema: the personal data of a contact-centre / messaging platform.
--
-- Each table below holds one row of the retention table at the top of SPEC.md. The comments name
-- the seed rule (a published retention policy of such a platform, see /work/shared/seeds/) that
-- decides how long its rows may be kept; demo/policies.sql turns each rule into a retention policy.
--
--   seed 000/001: Infobip "Data retention" page and "Data Retention Notice"
--   seed 002:     a call-tracking product's "Data Retention" settings page
--   seed 004:     Gladly "Configure Data Retention Settings and Data Deletion Options"

CREATE TABLE tenants (
    id          integer PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    plan        text NOT NULL CHECK (plan IN ('starter', 'grow', 'scale')),
    created_at  timestamptz NOT NULL
);
COMMENT ON TABLE tenants IS
    'Accounts (customers of the platform). Account-level settings are kept while the service is '
    'used (seed 000, "Long-term retention"): no retention policy on this table.';

-- People / customer data platform: the end users our tenants talk to.
CREATE TABLE customer_profiles (
    id                bigint PRIMARY KEY,
    tenant_id         integer NOT NULL REFERENCES tenants,
    display_name      text NOT NULL,
    phone_number      text,                -- MSISDN, E.164
    email             text,
    created_at        timestamptz NOT NULL,
    last_activity_at  timestamptz NOT NULL,
    terminated_at     timestamptz NULL
);
CREATE INDEX ON customer_profiles (tenant_id);
COMMENT ON TABLE customer_profiles IS
    'End-user records in People. Seed 001: deleted 30 days after contract termination or 18 months '
    'of inactivity. Seed 004: a profile with an open conversation is never deleted.';
COMMENT ON COLUMN customer_profiles.last_activity_at IS
    'Last contact with the end user (seed 004: app events such as CSAT surveys do not count).';
COMMENT ON COLUMN customer_profiles.terminated_at IS
    'When the contract with this end user was terminated; NULL while it runs.';

-- Conversation records, "including customer, business and agent identity, MSISDN" (seed 000).
CREATE TABLE conversations (
    id           bigint PRIMARY KEY,
    tenant_id    integer NOT NULL REFERENCES tenants,
    -- The conversation keeps its own 6-month clock: when the profile goes first, it is only unlinked.
    customer_id  bigint REFERENCES customer_profiles ON DELETE SET NULL,
    channel      text NOT NULL CHECK (channel IN ('whatsapp', 'sms', 'livechat', 'messenger', 'voice')),
    status       text NOT NULL CHECK (status IN ('open', 'waiting', 'closed')),
    started_at   timestamptz NOT NULL,
    closed_at    timestamptz
);
CREATE INDEX ON conversations (started_at);
CREATE INDEX ON conversations (customer_id);  -- for ON DELETE SET NULL and the profiles' keep_when
COMMENT ON TABLE conversations IS
    'Communication content. Seed 000: deleted 6 months after the date the conversation started, '
    'whatever its status ("active conversations that exceed the retention will be closed and deleted").';
COMMENT ON COLUMN conversations.started_at IS 'Retention trigger: the date the conversation or chat started.';

-- Messages, related content and metadata: they go with their conversation (seed 000).
CREATE TABLE messages (
    id               bigint PRIMARY KEY,
    conversation_id  bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender           text NOT NULL,
    sent_at          timestamptz NOT NULL,
    body             text NOT NULL
);
CREATE INDEX ON messages (conversation_id);  -- for ON DELETE CASCADE
COMMENT ON TABLE messages IS
    'Message texts. No policy of their own: the 6-month countdown starts when the conversation '
    'started (seed 000), so they are removed by ON DELETE CASCADE with their conversation.';

-- Media (images, audio files, other attachments) received via OTT channels.
CREATE TABLE chat_media (
    id               bigint PRIMARY KEY,
    tenant_id        integer NOT NULL REFERENCES tenants,
    conversation_id  bigint REFERENCES conversations ON DELETE CASCADE,
    received_at      timestamptz NOT NULL,
    content_type     text NOT NULL,
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    storage_key      text NOT NULL
);
CREATE INDEX ON chat_media (received_at);
CREATE INDEX ON chat_media (conversation_id);  -- for ON DELETE CASCADE
COMMENT ON TABLE chat_media IS
    'Media received over chat channels. Seed 000/001: 30 days from the date of communication, '
    'and the period "cannot be prolonged".';

-- Email content sent through the email APIs.
CREATE TABLE email_content (
    id            bigint PRIMARY KEY,
    tenant_id     integer NOT NULL REFERENCES tenants,
    api           text NOT NULL CHECK (api IN ('smtp', 'http')),
    from_address  text NOT NULL,
    to_address    text NOT NULL,
    subject       text NOT NULL,
    body_html     text NOT NULL,
    created_at    timestamptz NOT NULL,
    scheduled_at  timestamptz,      -- the "send at" date, when the sender scheduled the email
    sent_at       timestamptz       -- NULL until sent (drafts, emails scheduled in the future)
);
COMMENT ON TABLE email_content IS
    'Email content. Seed 001: 7 days (SMTP API) or 2 days (HTTP API) from the date of sending; '
    '"if the send-at feature is used, the countdown starts at the send-at date".';

-- Call-detail records: traffic data kept for billing, disputes and anti-fraud (seed 001).
CREATE TABLE call_detail_records (
    id               bigint PRIMARY KEY,
    tenant_id        integer NOT NULL REFERENCES tenants,
    call_started_at  timestamptz NOT NULL,
    caller_number    text,          -- personal data: seed 001 anonymises it after 12 months
    callee_number    text,          -- idem
    duration         interval NOT NULL,
    disposition      text NOT NULL CHECK (disposition IN ('answered', 'busy', 'no-answer', 'failed')),
    cost_eur         numeric(10, 4) NOT NULL
);
CREATE INDEX ON call_detail_records (call_started_at);
COMMENT ON TABLE call_detail_records IS
    'CDRs. Seed 001: the phone numbers inside are deleted or anonymised after 12 months. Seed 002: '
    'call data is kept 0-1095 days per account, cleaned up every 2 hours with a 2-hour grace period.';

-- Webhook delivery records (seed 002: "webhooks, calls, and WhatsApp conversations" are kept
-- 0-1095 days as each account chooses, cleaned every 2 hours with a 2-hour grace). Many rows a
-- day and nothing refers to them: range-partitioned by day, so expired days are dropped whole.
-- The table starts with only a default partition; the policy's first run creates the daily
-- partitions, moves the rows into them and drops the expired ones.
CREATE TABLE webhook_deliveries (
    id            bigint NOT NULL,
    tenant_id     integer NOT NULL REFERENCES tenants,
    delivered_at  timestamptz NOT NULL,
    event         text NOT NULL,
    target_url    text NOT NULL,
    http_status   integer NOT NULL,
    payload       jsonb NOT NULL
) PARTITION BY RANGE (delivered_at);
CREATE TABLE webhook_deliveries_default PARTITION OF webhook_deliveries DEFAULT;
CREATE INDEX ON webhook_deliveries (delivered_at);
COMMENT ON TABLE webhook_deliveries IS
    'Webhook delivery records. Seed 002: kept 0-1095 days per account (90 here), cleaned every '
    '2 hours with a 2-hour grace period; partitioned by day.';
