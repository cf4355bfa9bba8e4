"""What create_cluster.py and the udacity-dend bucket look like, built in moto for the preflight and dry-run
tests: an IAM role (trust, policies), a cluster, a bucket with log and song objects and a JSONPaths file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.corpus import jsonpaths
from tests.helpers.dwhcfg import DwhCfg

TRUST_REDSHIFT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_READ_ONLY_COPY = "s3-read-only-copy"  # a customer-managed policy with AmazonS3ReadOnlyAccess's document
S3_READ_ONLY_DOCUMENT = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*",
                                  "s3-object-lambda:List*"], "Resource": "*"}]}
JSONPATHS_18 = jsonpaths("$['{}']")


class AwsWorld:
    """The role, cluster and bucket, in moto (which must be running: the `moto` fixture)."""

    def __init__(self, *, cluster_region="us-west-2", bucket="udacity-dend", bucket_region="us-west-2",
                 role_name="sparkify-dwh-s3-read", trust=TRUST_REDSHIFT, policies=(S3_READ_ONLY_COPY,),
                 inline: dict | None = None, attach=True, jsonpaths=JSONPATHS_18, log_keys=None, song_keys=None,
                 create_role=True):
        import boto3

        self.iam = boto3.client("iam", region_name="us-east-1")
        self.role_arn = f"arn:aws:iam::123456789012:role/{role_name}"
        if create_role:
            self.role_arn = self.iam.create_role(RoleName=role_name,
                                                 AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            for arn in policies:
                if arn == S3_READ_ONLY_COPY:
                    arn = self.iam.create_policy(PolicyName=S3_READ_ONLY_COPY,
                                                 PolicyDocument=json.dumps(S3_READ_ONLY_DOCUMENT))["Policy"]["Arn"]
                self.iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
            for name, doc in (inline or {}).items():
                self.iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(doc))
        self.redshift = boto3.client("redshift", region_name=cluster_region)
        cluster = self.redshift.create_cluster(
            ClusterIdentifier="sparkify-dwh", NodeType="dc2.large", MasterUsername="awsuser",
            MasterUserPassword="Passw0rdX1", ClusterType="single-node", DBName="dev",
            IamRoles=[self.role_arn] if attach else [])["Cluster"]
        self.host = self.redshift.describe_clusters(ClusterIdentifier=cluster["ClusterIdentifier"]
                                                    )["Clusters"][0]["Endpoint"]["Address"]
        self.bucket = bucket
        self.s3 = boto3.client("s3", region_name=bucket_region)
        kwargs = {} if bucket_region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": bucket_region}}
        self.s3.create_bucket(Bucket=bucket, **kwargs)
        for key in (["log_data/2018/11/2018-11-01-events.json"] if log_keys is None else log_keys):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b'{"artist": null}\n')
        for key in (["song_data/A/A/A/TRAAAAK128F9318786.json"] if song_keys is None else song_keys):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b'{"num_songs": 1}')
        if jsonpaths is not None:
            body = jsonpaths if isinstance(jsonpaths, bytes) else json.dumps(jsonpaths).encode()
            self.s3.put_object(Bucket=bucket, Key="log_json_path.json", Body=body)

    def config(self, tmp_path: Path, *, dwh: dict | None = None, **overrides):
        """The Config of a dwh.cfg (DwhCfg.redshift, `overrides` its keywords) naming this world's cluster, role and
        bucket, with the [DWH] keys `dwh`."""
        from sparkify.config import load_config

        kwargs = {"host": self.host, "arn": self.role_arn, "bucket": self.bucket}
        kwargs.update(overrides)
        cfg = DwhCfg.redshift(**kwargs)
        if dwh:
            cfg.set("DWH", **dwh)
        return load_config(cfg.write(tmp_path / "dwh.cfg"), environ={})


def fill_udacity_bucket(s3) -> None:
    """The udacity-dend bucket (us-west-2): two log days, two song files and the JSONPaths file."""
    s3.create_bucket(Bucket="udacity-dend", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for key in ("log_data/2018/11/2018-11-01-events.json", "log_data/2018/11/2018-11-02-events.json"):
        s3.put_object(Bucket="udacity-dend", Key=key, Body=b'{"artist": null}\n')
    for key in ("song_data/A/A/A/TRAAAAK128F9318786.json", "song_data/A/A/B/TRAABCL128F4286650.json"):
        s3.put_object(Bucket="udacity-dend", Key=key, Body=b'{"num_songs": 1}')
    s3.put_object(Bucket="udacity-dend", Key="log_json_path.json", Body=json.dumps(JSONPATHS_18).encode())
