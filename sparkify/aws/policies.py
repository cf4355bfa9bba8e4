"""IAM policy documents, read statically: does a role trust Redshift, and do its policies allow an action.

Pure functions over the documents boto3 returns (a dict, or URL-encoded JSON text). create_cluster.py uses
`trusts_redshift` before reusing a role; the preflight uses both to explain, offline, why COPY could fail.
Not evaluated: bucket policies, SCPs, session policies, KMS key policies.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def policy_document(doc) -> dict:
    """A policy document as boto3 returns it: a dict, or URL-encoded JSON text ({} if it is neither)."""
    if isinstance(doc, dict):
        return doc
    text = str(doc or "")
    for candidate in (text, urllib.parse.unquote(text)):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        return parsed if isinstance(parsed, dict) else {}
    return {}


def as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def wildcard(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.I) is not None


def _statement_applies(st: dict, action: str, resource: str) -> bool:
    if "Action" in st:
        action_ok = any(wildcard(a, action, case_sensitive=False) for a in as_list(st["Action"]))
    else:
        action_ok = "NotAction" in st and not any(wildcard(a, action, case_sensitive=False)
                                                  for a in as_list(st["NotAction"]))
    if not action_ok:
        return False
    if "Resource" in st:
        return any(wildcard(r, resource, case_sensitive=True) for r in as_list(st["Resource"]))
    return "NotResource" in st and not any(wildcard(r, resource, case_sensitive=True)
                                           for r in as_list(st["NotResource"]))


def evaluate_policies(documents: Iterable, action: str, resource: str) -> str:
    """'allow', 'deny', 'conditional' (depends on a Condition) or 'none' (no statement allows it)."""
    allow = conditional_allow = conditional_deny = False
    for doc in documents:
        for st in as_list(policy_document(doc).get("Statement")):
            if not isinstance(st, dict) or not _statement_applies(st, action, resource):
                continue
            effect = str(st.get("Effect", "")).lower()
            if effect == "deny":
                if not st.get("Condition"):
                    return "deny"
                conditional_deny = True
            elif effect == "allow":
                if st.get("Condition"):
                    conditional_allow = True
                else:
                    allow = True
    if allow and not conditional_deny:
        return "allow"
    if allow or conditional_allow:
        return "conditional"
    return "none"


def trusts_redshift(trust_document) -> bool:
    """Does the role's trust policy let the Redshift service assume it?"""
    for st in as_list(policy_document(trust_document).get("Statement")):
        if not isinstance(st, dict) or str(st.get("Effect", "")).lower() != "allow":
            continue
        if not any(wildcard(a, "sts:AssumeRole", case_sensitive=False) for a in as_list(st.get("Action"))):
            continue
        principal = st.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if "redshift.amazonaws.com" in services or principal == "*":
            return True
    return False
