"""The database bootstrap function (AWS Lambda, Python 3.13): creates or updates the app's login role.

Invoked by ``pulumi up`` (``aws.lambda_.Invocation``) after the RDS instance and the app's credentials exist,
and again whenever the app password, the role or the extensions change. It runs in the Network's isolated
subnets and reaches only the database (5432) and the Secrets Manager endpoint (443). Idempotent: every run
leaves the same state, whatever existed before.

1. reads the RDS-managed master secret and the app credentials secret (``{"username", "password"}``);
2. connects as the master user over TLS (the parameter group forces it; see ``tls_context``);
3. creates the role ``<username>_app`` (LOGIN; no superuser/createdb/createrole, the defaults) or, when it exists, sets its
   password again: the password is sent as a SCRAM-SHA-256 verifier computed here, so the plaintext never
   reaches the server (nor its statement log);
4. grants it CONNECT/TEMPORARY on the database, USAGE/CREATE on schema ``public``, the data privileges on the
   master user's tables and sequences that already exist there and, by default privileges, on those it creates
   later (migrations run as the master). The app role is *not* made a member of the master role: on RDS that
   role is in ``rds_superuser``;
5. creates the requested extensions (``CREATE EXTENSION IF NOT EXISTS``) as the master user, which may create
   the ones RDS allows (pgvector's ``vector`` included) where the app role may not.

It returns (and so ``pulumi up`` records) only non-secret facts: the role name, whether it was created, the
extensions.

This module is not imported by the Pulumi program: its file is shipped in the function's zip with the pure-Python
driver pg8000 and its dependencies (see ``components.postgres._bootstrap``). ``boto3`` comes with the Lambda
runtime and is imported only in :func:`handler`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import ssl
from typing import Any, Callable, Sequence

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (what libpq's PQencryptPasswordConn sends):
    ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``, base64. RFC 5802 / RFC 7677."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def tls_context() -> ssl.SSLContext:
    """TLS is required (the connection fails if the server does not speak it), the server certificate is not
    verified: the RDS CA bundle is not shipped. The connection never leaves the VPC (Lambda ENI -> RDS ENI in
    the isolated subnets), the login is SCRAM (the password never crosses the wire) and the new password is sent
    as a verifier, so an attacker able to intercept inside the VPC still learns no usable password."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def bootstrap(*, host: str, port: int, database: str, master_user: str, master_password: str, app_user: str,
              app_password: str, extensions: Sequence[str] = (), ssl_context: ssl.SSLContext | None = None,
              connect: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Create or update `app_user` with `app_password`, its grants and the extensions; return non-secret facts."""
    if connect is None:
        import pg8000.native

        connect = pg8000.native.Connection
    from pg8000.native import identifier, literal

    con = connect(user=master_user, password=master_password, host=host, port=int(port), database=database,
                  ssl_context=ssl_context if ssl_context is not None else tls_context(), timeout=30,
                  application_name="prodkit-bootstrap")
    try:
        role, db, owner = identifier(app_user), identifier(database), identifier(master_user)
        exists = bool(con.run("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :name", name=app_user))
        # A new role has no SUPERUSER/CREATEDB/CREATEROLE/REPLICATION (the defaults); the master user may not even
        # name SUPERUSER in ALTER ROLE (it is not a superuser on RDS), so an update only sets LOGIN and the password.
        verb = "ALTER" if exists else "CREATE"
        con.run(f"{verb} ROLE {role} WITH LOGIN PASSWORD {literal(scram_verifier(app_password))}")
        for ext in extensions:
            con.run(f"CREATE EXTENSION IF NOT EXISTS {identifier(ext)}")
        statements = [
            f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}",
            f"GRANT USAGE, CREATE ON SCHEMA public TO {role}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO {role}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
        ]
        # Existing tables/sequences of the master user only ("ON ALL TABLES" would also touch the app role's own
        # tables, which the master, not a superuser, may not grant on).
        owned = con.run(
            "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') "
            "AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) ORDER BY 1")
        for relname, kind in owned:
            rel = f"public.{identifier(relname)}"
            statements.append(f"GRANT USAGE, SELECT, UPDATE ON SEQUENCE {rel} TO {role}" if kind == "S" else
                              f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE {rel} TO {role}")
        for statement in statements:
            con.run(statement)
    finally:
        con.close()
    return {"role": app_user, "created": not exists, "extensions": list(extensions)}


def _secret(client: Any, arn: str) -> dict[str, Any]:
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point. `event` (written by the Pulumi program, no secrets): host, port, database,
    master_secret_arn, app_secret_arn, extensions."""
    import boto3

    client = boto3.client("secretsmanager")
    master = _secret(client, event["master_secret_arn"])
    app = _secret(client, event["app_secret_arn"])
    return bootstrap(
        host=event["host"], port=event["port"], database=event["database"],
        master_user=master["username"], master_password=master["password"],
        app_user=app["username"], app_password=app["password"], extensions=event.get("extensions", ()),
    )
