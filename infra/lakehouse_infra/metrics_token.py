"""MinIO's Prometheus bearer token.

MinIO answers ``/minio/v2/metrics/*`` only to a JWT whose issuer is ``prometheus``, whose
subject is an access key allowed ``admin:Prometheus``, signed (HMAC) with that key's secret:
what ``mc admin prometheus generate`` prints. The stack signs one for its metrics user, so
no ``mc`` step or root key is involved. The expiry is fixed, so the same credentials give
the same token and an unchanged stack changes nothing on ``up``.
"""

from __future__ import annotations

import warnings

import jwt

# 2100-01-01T00:00:00Z: the token lives as long as the user's secret key does (rotate the
# key, and the token changes with it).
EXPIRES_AT = 4_102_444_800


def metrics_token(access_key: str, secret_key: str) -> str:
    """The bearer token for ``access_key`` (HS256: MinIO accepts HS256, HS384 and HS512)."""
    claims = {"iss": "prometheus", "sub": access_key, "exp": EXPIRES_AT}
    with warnings.catch_warnings():
        # PyJWT warns on keys under 32 bytes; this key is the user's own secret key, so the
        # token is exactly as strong as the credential MinIO already trusts.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret_key, algorithm="HS256")
