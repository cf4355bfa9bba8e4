"""The node type create_cluster.py orders: checked against DescribeOrderableClusterOptions, which moto lacks
(botocore's Stubber for the call here; the whole create flow with canned answers beside moto is in
test_aws_provision.py, which shares its moto with the other provisioning tests)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from sparkify.aws.cluster import choose_node_type, node_size, orderable_options
from sparkify.config import DwhSettings
from sparkify.errors import ProvisioningError

REGION = "us-west-2"
# What AWS lists today in a region that no longer sells DC2 (ra3.large and ra3.xlplus exist as single-node)
NO_DC2 = [("ra3.xlplus", "single-node"), ("ra3.xlplus", "multi-node"), ("ra3.large", "single-node"),
          ("ra3.large", "multi-node"), ("ra3.4xlarge", "multi-node"), ("ra3.16xlarge", "multi-node")]
WITH_DC2 = NO_DC2 + [("dc2.large", "single-node"), ("dc2.large", "multi-node"), ("dc2.8xlarge", "multi-node")]


def options(pairs):
    return [{"NodeType": n, "ClusterType": c} for n, c in pairs]


def settings(**kw) -> DwhSettings:
    return DwhSettings(region=REGION, **kw)


def test_sizes_rank_smallest_first():
    names = ["ra3.16xlarge", "dc2.8xlarge", "ra3.4xlarge", "ra3.xlplus", "ra3.large", "dc2.large", "rg.xlarge"]
    assert sorted(names, key=node_size) == ["dc2.large", "ra3.large", "ra3.xlplus", "rg.xlarge", "ra3.4xlarge",
                                            "dc2.8xlarge", "ra3.16xlarge"]


@pytest.mark.parametrize("kw, offered, expected, why", [
    ({}, WITH_DC2, "dc2.large", "dc2.large, the classic default, is orderable in us-west-2"),
    ({}, NO_DC2, "ra3.large", "dc2.large is not orderable in us-west-2: using ra3.large, the smallest single-node"),
    ({}, [("ra3.xlplus", "single-node"), ("ra3.4xlarge", "multi-node")], "ra3.xlplus", "using ra3.xlplus"),
    ({"cluster_type": "multi-node", "num_nodes": 4}, [("ra3.large", "single-node"), ("ra3.xlplus", "multi-node"),
                                                      ("ra3.4xlarge", "multi-node")], "ra3.xlplus",
     "the smallest multi-node type orderable there (of ra3.xlplus, ra3.4xlarge"),
    ({"node_type": "ra3.4xlarge", "cluster_type": "multi-node", "num_nodes": 2}, NO_DC2, "ra3.4xlarge",
     "DWH_NODE_TYPE = ra3.4xlarge is orderable in us-west-2"),
    ({"node_type": "dc2.large"}, None, "dc2.large", "does not implement DescribeOrderableClusterOptions"),
    ({}, None, "dc2.large", "node type dc2.large not checked"),
])
def test_choose_node_type(kw, offered, expected, why):
    node_type, reason = choose_node_type(settings(**kw), None if offered is None else options(offered))
    assert node_type == expected and why in reason


@pytest.mark.parametrize("kw, offered, message", [
    ({"node_type": "dc2.large"}, NO_DC2,
     ("DWH_NODE_TYPE = dc2.large is not orderable in us-west-2; orderable there: ra3.large, ra3.xlplus, ra3.4xlarge, "
      "ra3.16xlarge: set DWH_NODE_TYPE to one of them, or leave it unset to let create_cluster.py choose "
      "(nothing was created)")),
    ({"node_type": "ra3.4xlarge"}, NO_DC2,
     ("DWH_NODE_TYPE = ra3.4xlarge cannot be ordered as a single-node cluster in us-west-2; single-node types "
      "there: ra3.large, ra3.xlplus")),
    ({"cluster_type": "multi-node", "num_nodes": 2}, [("ra3.large", "single-node")],
     "no node type can be ordered as a multi-node cluster in us-west-2 (orderable: ra3.large)"),
    ({}, [], "AWS lists no orderable Redshift node type in us-west-2"),
])
def test_refusals_name_the_region_and_what_it_offers(kw, offered, message):
    with pytest.raises(ProvisioningError) as info:
        choose_node_type(settings(**kw), options(offered))
    assert str(info.value).startswith(message)


def _page(pairs, marker=None):
    page = {"OrderableClusterOptions": [{"ClusterVersion": "1.0", "NodeType": n, "ClusterType": c,
                                         "AvailabilityZones": [{"Name": f"{REGION}a"}]} for n, c in pairs]}
    if marker:
        page["Marker"] = marker
    return page


def test_orderable_options_reads_every_page():
    client = boto3.client("redshift", region_name=REGION)
    with Stubber(client) as stub:  # Stubber checks each request and response against the service model
        stub.add_response("describe_orderable_cluster_options", _page(NO_DC2[:3], marker="page-2"), {})
        stub.add_response("describe_orderable_cluster_options", _page(NO_DC2[3:]), {"Marker": "page-2"})
        assert orderable_options(client, REGION) == options(NO_DC2)
        stub.assert_no_pending_responses()


def test_orderable_options_of_an_endpoint_without_the_call():
    client = boto3.client("redshift", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("describe_orderable_cluster_options", "InvalidAction", "not implemented",
                              http_status_code=400)
        assert orderable_options(client, REGION) is None
        stub.add_client_error("describe_orderable_cluster_options", "AccessDenied", "no", http_status_code=403)
        with pytest.raises(ProvisioningError, match="access denied .* listing the orderable node types"):
            orderable_options(client, REGION)
