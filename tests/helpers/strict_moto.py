"""moto made as strict as AWS where sparkify relies on AWS refusing something that moto 5.2 accepts, or on an
operation moto lacks. `install()` patches moto's classes in this process, for the in-process mock and for the
moto server the tests run in this process alike (tests/fixtures/aws.py installs it once per session).

Redshift:
- DeleteCluster without SkipFinalClusterSnapshot = true or a FinalClusterSnapshotIdentifier: AWS's default is
  SkipFinalClusterSnapshot = false, so it refuses (InvalidParameterCombination); moto deletes without a snapshot.
- CreateClusterParameterGroup of a name that exists: AWS refuses (ClusterParameterGroupAlreadyExists); moto
  replaces the group.
- DeleteClusterParameterGroup of a group a cluster uses: AWS refuses (InvalidClusterParameterGroupState); moto
  deletes it.
- CreateCluster or ModifyCluster naming a parameter group that does not exist: AWS refuses
  (ClusterParameterGroupNotFound); moto accepts the name (and ModifyCluster stores it where moto keeps a list).
- ModifyClusterParameterGroup (moto lacks it) keeps each group's parameters, refusing a name the family does not
  have or a boolean other than true/false (InvalidParameterValue); DescribeClusterParameters answers them (with
  Source = user), where moto answers the family's defaults for every group.
S3:
- PutObject whose Content-MD5 does not match the body: S3 refuses it (BadDigest) and stores nothing; moto stores
  the object.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable

_BOOLEAN_PARAMETERS = {"require_ssl", "use_fips_ssl", "enable_user_activity_logging", "auto_analyze"}


def _error(code: str, message: str) -> Exception:
    from moto.redshift.exceptions import RedshiftClientError

    return RedshiftClientError(code, message)


def install() -> Callable[[], None]:
    """Patch moto's Redshift and S3 classes; returns the function that undoes it."""
    from moto.core.responses import ActionResult
    from moto.redshift.models import RedshiftBackend
    from moto.redshift.responses import RedshiftResponse
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    saved: list[tuple[type, str, object]] = []

    def patch(cls: type, name: str, value) -> None:
        saved.append((cls, name, cls.__dict__.get(name)))
        setattr(cls, name, value)

    original_delete = RedshiftBackend.delete_cluster
    original_create_group = RedshiftBackend.create_cluster_parameter_group
    original_delete_group = RedshiftBackend.delete_cluster_parameter_group
    original_create = RedshiftBackend.create_cluster
    original_modify = RedshiftBackend.modify_cluster
    original_put = S3Response.put_object

    def delete_cluster(self, **kwargs):
        if kwargs.get("skip_final_snapshot") is None:
            kwargs["skip_final_snapshot"] = False  # AWS's default
        return original_delete(self, **kwargs)

    def create_cluster_parameter_group(self, cluster_parameter_group_name, *args, **kwargs):
        if cluster_parameter_group_name in self.parameter_groups:
            raise _error("ClusterParameterGroupAlreadyExists",
                         f"Parameter group {cluster_parameter_group_name} already exists")
        return original_create_group(self, cluster_parameter_group_name, *args, **kwargs)

    def delete_cluster_parameter_group(self, parameter_group_name):
        users = [c.cluster_identifier for c in self.clusters.values()
                 if parameter_group_name in c.cluster_parameter_group_name]
        if users:
            raise _error("InvalidClusterParameterGroupState",
                         f"The parameter group {parameter_group_name} is in use by cluster {users[0]}")
        return original_delete_group(self, parameter_group_name)

    def _known_group(self, name):
        if name and name not in self.parameter_groups:
            raise _error("ClusterParameterGroupNotFound", f"ClusterParameterGroup not found: {name}")

    def create_cluster(self, **kwargs):
        _known_group(self, kwargs.get("cluster_parameter_group_name"))
        return original_create(self, **kwargs)

    def modify_cluster(self, **kwargs):
        name = kwargs.get("cluster_parameter_group_name")
        _known_group(self, name)
        if name:  # moto would store the bare name where it keeps a list of names
            kwargs["cluster_parameter_group_name"] = [name]
        return original_modify(self, **kwargs)

    def group_parameters(self, name: str) -> dict[str, str]:
        _known_group(self, name)
        return self.parameter_groups[name].__dict__.setdefault("strict_user_parameters", {})

    def modify_cluster_parameter_group(self):  # RedshiftResponse
        name = self._get_param("ParameterGroupName")
        backend = self.redshift_backend
        stored = group_parameters(backend, name)
        for p in self._get_param("Parameters", []):
            pname, value = p.get("ParameterName"), str(p.get("ParameterValue"))
            if pname not in backend.default_params:
                raise _error("InvalidParameterValue", f"Could not find parameter with name: {pname}")
            if pname in _BOOLEAN_PARAMETERS and value not in ("true", "false"):
                raise _error("InvalidParameterValue", f"The parameter {pname} must be true or false")
            stored[pname] = value
        return ActionResult({"ParameterGroupName": name, "ParameterGroupStatus": "Your parameter group has been "
                                                                                 "updated"})

    def describe_cluster_parameters(self):  # RedshiftResponse
        name = self._get_param("ParameterGroupName")
        source = self._get_param("Source")
        backend = self.redshift_backend
        user = group_parameters(backend, name)
        params = []
        for p in backend.describe_default_cluster_parameters():
            if p["ParameterName"] in user:
                p = {**p, "ParameterValue": user[p["ParameterName"]], "Source": "user"}
            if source is None or p["Source"] == source:
                params.append(p)
        return ActionResult({"Parameters": params})

    def put_object(self):  # S3Response
        md5 = self.headers.get("Content-MD5")
        if md5 and base64.b64encode(hashlib.md5(self.body or b"").digest()).decode() != md5:
            raise S3ClientError("BadDigest", "The Content-MD5 you specified did not match what we received.")
        return original_put(self)

    patch(RedshiftBackend, "delete_cluster", delete_cluster)
    patch(RedshiftBackend, "create_cluster_parameter_group", create_cluster_parameter_group)
    patch(RedshiftBackend, "delete_cluster_parameter_group", delete_cluster_parameter_group)
    patch(RedshiftBackend, "create_cluster", create_cluster)
    patch(RedshiftBackend, "modify_cluster", modify_cluster)
    patch(RedshiftResponse, "modify_cluster_parameter_group", modify_cluster_parameter_group)
    patch(RedshiftResponse, "describe_cluster_parameters", describe_cluster_parameters)
    patch(S3Response, "put_object", put_object)

    def undo() -> None:
        for cls, name, value in reversed(saved):
            if value is None:
                delattr(cls, name)
            else:
                setattr(cls, name, value)

    return undo


def add_aws_managed_policies(*names: str, account: str = "123456789012") -> list[str]:
    """Add the AWS-managed IAM policies `names` ("AmazonS3ReadOnlyAccess") to moto's account, with the documents
    moto ships; returns their ARNs. The tests' moto loads none of them (MOTO_IAM_LOAD_MANAGED_POLICIES=false:
    ~1,300 of them cost seconds at every reset), so a test that attaches one adds it first."""
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[account]["global"]
    arns = []
    for name in names:
        policy = AWSManagedPolicy.from_data(name, account, backend.region_name, _managed_policy_data()[name])
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy
        arns.append(policy.arn)
    return arns


@functools.cache
def _managed_policy_data() -> dict:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)
