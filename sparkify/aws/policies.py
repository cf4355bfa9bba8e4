"""IAM policy documents: the role's trust policy (written and checked), and a static evaluation of policies.

Pure functions over the documents boto3 returns (a dict, or URL-encoded JSON text). create_cluster.py writes
`trust_policy` and reuses a role only if `trust_problem` finds nothing; the preflight uses `trusts_redshift` and
`evaluate_policies` to explain, offline, why COPY could fail.
Not evaluated: bucket policies, SCPs, session policies, KMS key policies.

The trust policy follows AWS's guidance against the cross-service "confused deputy": a service principal
(redshift.amazonaws.com) acts for many accounts, so the role pins the account (and, where it is known, the
resource) the service may act for, with the global condition keys aws:SourceAccount and aws:SourceArn
(IAM User Guide, "The confused deputy problem": https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html;
"AWS global condition context keys": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
Redshift Serverless assumes the same principal: AWS's page on restricting a role to database users
(https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service-database-users.html) gives one trust
relationship, with "Service": "redshift.amazonaws.com", for clusters and Serverless workgroups alike.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping

REDSHIFT_PRINCIPAL = "redshift.amazonaws.com"
VERSION = "2012-10-17"


def trust_policy(account: str, source_arn: str | None = None) -> dict:
    """Only Redshift may assume the role, and only for `account` (and for `source_arn` when given)."""
    condition: dict = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return {"Version": VERSION, "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": REDSHIFT_PRINCIPAL},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }]}


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


def canonical(doc) -> str:
    """A policy document as text that does not depend on how IAM spells it back (a value or a one-element list,
    the order of lists and keys): two documents that mean the same have the same canonical text."""

    def norm(value):
        if isinstance(value, Mapping):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            items = [norm(v) for v in value]
            return items[0] if len(items) == 1 else sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return value

    return json.dumps(norm(policy_document(doc)), sort_keys=True)


def wildcard(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


# --------------------------------------------------------------------------------------------------
# Trust


def _principals(st: dict) -> list[str]:
    """Every principal a statement names, as 'Service:x', 'AWS:y', 'Federated:z' or '*'."""
    principal = st.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, Mapping):
        return []
    return [f"{kind}:{value}" for kind, values in principal.items() for value in as_list(values)]


def _source_accounts(st: dict) -> list[str] | None:
    """The accounts a statement's aws:SourceAccount condition allows (None: no such condition)."""
    for op, tests in (st.get("Condition") or {}).items():
        if not isinstance(tests, Mapping) or not op.startswith("StringEquals"):
            continue
        for key, values in tests.items():
            if key.lower() == "aws:sourceaccount":
                return [str(v) for v in as_list(values)]
    return None


def _allows_assume(st: dict) -> bool:
    return (isinstance(st, dict) and str(st.get("Effect", "")).lower() == "allow"
            and any(wildcard(a, "sts:AssumeRole", case_sensitive=False) for a in as_list(st.get("Action"))))


def trusts_redshift(trust_document, account: str | None = None) -> bool:
    """Does the role's trust policy let the Redshift service assume it (for `account`, when given)?"""
    for st in as_list(policy_document(trust_document).get("Statement")):
        if not _allows_assume(st):
            continue
        principals = _principals(st)
        if f"Service:{REDSHIFT_PRINCIPAL}" not in principals and "*" not in principals:
            continue
        accounts = _source_accounts(st)
        if account is None or accounts is None or account in accounts:
            return True
    return False


def trust_problem(trust_document, account: str) -> str | None:
    """Why a role's trust policy is not 'Redshift, in this account, alone' (None when it is).

    Every statement that allows something must name the Redshift service as its only principal, and an
    aws:SourceAccount condition, when there is one, must name this account only."""
    others: list[str] = []  # as shown to the user
    wrong_accounts: list[str] = []
    for st in as_list(policy_document(trust_document).get("Statement")):
        if not isinstance(st, dict) or str(st.get("Effect", "")).lower() != "allow":
            continue
        for p in _principals(st):
            if p != f"Service:{REDSHIFT_PRINCIPAL}":
                others.append("everyone (*)" if p in ("*", "AWS:*") else p.split(":", 1)[1])
        if "NotPrincipal" in st:
            others.append("NotPrincipal (everyone but the principals it names)")
        wrong_accounts += [a for a in (_source_accounts(st) or []) if a != account]
    if others:
        return f"also trusts {', '.join(dict.fromkeys(others))}"
    if wrong_accounts:
        return f"trusts Redshift acting for account {', '.join(dict.fromkeys(wrong_accounts))}, not {account}"
    if not trusts_redshift(trust_document, account):
        return f"does not trust {REDSHIFT_PRINCIPAL}"
    return None


# --------------------------------------------------------------------------------------------------
# Evaluation

_STRING_OPERATORS = {
    "StringEquals": lambda want, have: want == have,
    "StringNotEquals": lambda want, have: want != have,
    "StringLike": lambda want, have: wildcard(want, have, case_sensitive=True),
    "StringNotLike": lambda want, have: not wildcard(want, have, case_sensitive=True),
}


def condition_holds(condition: Mapping, context: Mapping[str, str]) -> bool | None:
    """Whether a statement's Condition holds for a request whose context is `context` (condition key ->
    value). None when it cannot be decided: an operator other than the String ones, or a key the context
    does not know (the real request may carry it)."""
    known = {k.lower(): v for k, v in context.items()}
    for op, tests in condition.items():
        if_exists = op.endswith("IfExists")
        compare = _STRING_OPERATORS.get(op[:-len("IfExists")] if if_exists else op)
        if compare is None or not isinstance(tests, Mapping):
            return None
        negated = op.startswith("StringNot")
        for key, values in tests.items():
            if key.lower() not in known:
                return None
            have = known[key.lower()]
            wanted = [str(v) for v in as_list(values)]
            ok = all(compare(w, have) for w in wanted) if negated else any(compare(w, have) for w in wanted)
            if not ok:
                return False
    return True


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


def evaluate_policies(documents: Iterable, action: str, resource: str,
                      context: Mapping[str, str] | None = None) -> str:
    """'allow', 'deny', 'conditional' (depends on a Condition that cannot be decided here) or 'none' (no
    statement allows it). `context`: the condition keys the request carries (for ListBucket, s3:prefix)."""
    allow = conditional_allow = conditional_deny = False
    for doc in documents:
        for st in as_list(policy_document(doc).get("Statement")):
            if not isinstance(st, dict) or not _statement_applies(st, action, resource):
                continue
            holds = condition_holds(st["Condition"], context or {}) if st.get("Condition") else True
            if holds is False:
                continue
            effect = str(st.get("Effect", "")).lower()
            if effect == "deny":
                if holds:
                    return "deny"
                conditional_deny = True
            elif effect == "allow":
                if holds:
                    allow = True
                else:
                    conditional_allow = True
    if allow and not conditional_deny:
        return "allow"
    if allow or conditional_allow:
        return "conditional"
    return "none"
