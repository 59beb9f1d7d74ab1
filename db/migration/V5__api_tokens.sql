-- API tokens of the HTTP API. Only the SHA-256 of a token is kept: the token itself is shown once, when it
-- is created (`./ordo token create --role ROLE`). Roles, each including the ones before it:
-- reader < submitter < operator < admin.
create table ordo.api_token (
    id           bigint generated always as identity primary key,
    name         text        not null,
    role         text        not null,
    token_sha256 text        not null,
    created_at   timestamptz not null default now(),
    created_by   text        not null default session_user,
    revoked_at   timestamptz,
    constraint api_token_role_valid check (role in ('reader', 'submitter', 'operator', 'admin')),
    constraint api_token_name_valid check (name ~ '^[A-Za-z0-9_.@:-]{1,100}$'),
    constraint api_token_hash_valid check (token_sha256 ~ '^[0-9a-f]{64}$'),
    constraint api_token_hash_unique unique (token_sha256)
);
