"""Provisioning and teardown on AWS for create_cluster.py and delete_cluster.py, one module per concern.

- `provision` (create_all) and `teardown` (delete_all): the two jobs, in order, for both modes;
- `cluster`: a provisioned cluster (orderable node types, create, wait, delete); `paramgroup`: its parameter
  group with require_ssl = true;
- `serverless`: a Redshift Serverless namespace, workgroup (require_ssl) and usage limit (create, wait, delete);
- `iam`: the role Redshift assumes; `s3access`: what it may read ([S3], nothing else); `network`: the caller's
  address and the dedicated security group;
- `policies`: IAM policy documents (the trust policy written and checked; a static evaluation, also used by the
  preflight);
- `errors`: AWS errors as one line naming the resource and the fix; `base`: session, clients, timings, tags, the
  outcome of one resource's step.

Imports flow one way: provision/teardown -> cluster, paramgroup, serverless, iam, network -> s3access, base,
errors, policies -> sparkify.config / sparkify.errors. Nothing here prints or exits; boto3 clients are made inside
functions. Only what carries the sparkify:managed tag is ever changed or deleted.
"""
