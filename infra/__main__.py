"""Entry point of the Pulumi program; everything lives in lakehouse_infra."""

from lakehouse_infra.program import deploy

deploy()
