"""Provisioning and teardown on AWS for create_cluster.py and delete_cluster.py, one module per concern.

- `provision` (create_all) and `teardown` (delete_all): the two jobs, in order, for both modes;
- `cluster`: a provisioned cluster (orderable node types, create, wait, delete);
- `serverless`: a Redshift Serverless namespace, workgroup and usage limit (create, wait, delete);
- `iam`: the S3 read-only role; `network`: the caller's address and the dedicated security group;
- `policies`: IAM policy documents read statically (the trust check, also used by the preflight);
- `errors`: AWS errors as one line naming the resource and the fix; `base`: session, clients, timings, tags.

Imports flow one way: provision/teardown -> cluster, serverless, iam, network -> base, errors, policies ->
sparkify.config / sparkify.errors. Nothing here prints or exits; boto3 clients are made inside functions.
"""
