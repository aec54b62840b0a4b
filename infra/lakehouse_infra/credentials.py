"""Every credential of the lakehouse: set with ``pulumi config set --secret``, else generated.

Nothing here has a default value. Generated passwords are alphanumeric (no ':' or quotes),
which keeps them safe in MinIO's mc, in Dremio's JSON API and in shell scripts.
Each consumer gets its own MinIO user with least privilege (see object_store.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from lakehouse_core import names

PASSWORD_LENGTH = 32


@dataclass(frozen=True)
class Credential:
    user: str
    password: pulumi.Output[str]


def _password(
    config: pulumi.Config, key: str, name: str, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    configured = config.get_secret(key)
    if configured is not None:
        return configured
    import pulumi_random as random  # only when a password is generated

    generated = random.RandomPassword(
        name,
        length=PASSWORD_LENGTH,
        special=False,
        min_numeric=4,
        min_upper=4,
        min_lower=4,
        opts=opts,
    )
    return pulumi.Output.secret(generated.result)


@dataclass(frozen=True)
class LakeCredentials:
    minio_root: Credential
    spark: Credential  # read-write on landing/ and deltalake/
    dremio: Credential  # read on the lake, read-write on dremio/ (distributed storage)
    dremio_admin: Credential  # Dremio's first (admin) user
    history: Credential  # the Spark History Server: reads and cleans spark-events/
    metrics: Credential  # MinIO's Prometheus metrics only (its token is derived from it)
    connect: Credential  # the Spark Connect server: reads the lake, writes scratch/

    @classmethod
    def create(
        cls, config: pulumi.Config, admin_user: str, opts: pulumi.ResourceOptions | None = None
    ) -> LakeCredentials:
        opts = opts or pulumi.ResourceOptions()
        return cls(
            minio_root=Credential(
                names.MINIO_ROOT_USER,
                _password(config, "minioRootPassword", "minio-root-password", opts),
            ),
            spark=Credential(
                names.SPARK_S3_USER,
                _password(config, "sparkS3SecretKey", "spark-s3-secret-key", opts),
            ),
            dremio=Credential(
                names.DREMIO_S3_USER,
                _password(config, "dremioS3SecretKey", "dremio-s3-secret-key", opts),
            ),
            dremio_admin=Credential(
                admin_user, _password(config, "dremioAdminPassword", "dremio-admin-password", opts)
            ),
            history=Credential(
                names.HISTORY_S3_USER,
                _password(config, "historyS3SecretKey", "history-s3-secret-key", opts),
            ),
            metrics=Credential(
                names.METRICS_S3_USER,
                _password(config, "metricsS3SecretKey", "metrics-s3-secret-key", opts),
            ),
            connect=Credential(
                names.CONNECT_S3_USER,
                _password(config, "connectS3SecretKey", "connect-s3-secret-key", opts),
            ),
        )


def spark_connect_token(
    config: pulumi.Config, opts: pulumi.ResourceOptions | None = None
) -> pulumi.Output[str]:
    """The token Spark Connect clients present (lakehouse:sparkConnectToken, else generated)."""
    return _password(
        config, "sparkConnectToken", "spark-connect-token", opts or pulumi.ResourceOptions()
    )


def internal_tls_seed(
    config: pulumi.Config, opts: pulumi.ResourceOptions | None = None
) -> pulumi.Output[str]:
    """The seed of the stack's own CA (lakehouse:internalTlsSeed, else generated once)."""
    return _password(
        config, "internalTlsSeed", "internal-tls-seed", opts or pulumi.ResourceOptions()
    )
