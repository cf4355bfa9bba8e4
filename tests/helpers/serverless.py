"""A small Redshift Serverless endpoint on 127.0.0.1, for what moto lacks: the operations sparkify calls, with
the AWS JSON 1.1 protocol (X-Amz-Target: RedshiftServerless.<Operation>), AWS's error shapes and the state
transitions that matter (a workgroup is CREATING for `creating_reads` GetWorkgroup calls, a namespace cannot
be deleted while a workgroup uses it), and AWS's validation of what sparkify relies on: a workgroup's
configParameters take only the keys the API documents, and boolean parameters (require_ssl...) only true or false. boto3 reaches it through AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS, so the
scripts run unchanged as subprocesses; every request is recorded (operation, parameters) for the tests.

Requests are not authenticated; botocore has already validated their parameters against the service model.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

from tests.helpers.awsjson import json_service


class ServerlessError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# The configParameters keys CreateWorkgroup/UpdateWorkgroup document (Redshift Serverless API reference), and the
# query monitoring metrics ("Query monitoring metrics for Amazon Redshift Serverless").
CONFIG_KEYS = {"auto_mv", "datestyle", "enable_case_sensitive_identifier", "enable_large_strings_opt_in",
               "enable_user_activity_logging", "query_group", "search_path", "require_ssl", "use_fips_ssl",
               "wlm_json_configuration", "max_query_cpu_time", "max_query_blocks_read", "max_scan_row_count",
               "max_query_execution_time", "max_query_queue_time", "max_query_cpu_usage_percent",
               "max_query_temp_blocks_to_disk", "max_join_row_count", "max_nested_loop_join_row_count"}
BOOLEAN_KEYS = {"auto_mv", "enable_case_sensitive_identifier", "enable_large_strings_opt_in",
                "enable_user_activity_logging", "require_ssl", "use_fips_ssl"}
# What GetWorkgroup shows for parameters never set (the stand-in's values; only require_ssl's matters here).
CONFIG_DEFAULTS = {"auto_mv": "true", "datestyle": "ISO, MDY", "enable_case_sensitive_identifier": "false",
                   "enable_user_activity_logging": "true", "query_group": "default", "search_path": "$user, public",
                   "max_query_execution_time": "14400", "require_ssl": "false", "use_fips_ssl": "false"}


def check_config_parameters(params: list[dict]) -> dict[str, str]:
    """configParameters as AWS validates them: known keys, booleans spelt true or false (ValidationException)."""
    out = {}
    for p in params:
        key, value = p.get("parameterKey"), p.get("parameterValue")
        if key not in CONFIG_KEYS:
            raise ServerlessError("ValidationException", f"Invalid parameter key: {key}")
        if key in BOOLEAN_KEYS and value not in ("true", "false"):
            raise ServerlessError("ValidationException", f"Invalid value for {key}: {value} (true or false)")
        out[key] = value
    return out


class FakeServerless:
    def __init__(self, *, region: str = "us-west-2", account: str = "123456789012", creating_reads: int = 0,
                 deleting_reads: int = 0):
        self.region, self.account = region, account
        self.creating_reads, self.deleting_reads = creating_reads, deleting_reads
        self.namespaces: dict[str, dict] = {}
        self.workgroups: dict[str, dict] = {}
        self.usage_limits: dict[str, dict] = {}
        self.tags: dict[str, list] = {}
        self.requests: list[tuple[str, dict]] = []
        self._countdown: dict[str, int] = {}
        self._lock = threading.Lock()
        self.server = json_service(self.handle)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, op: str) -> list[dict]:
        return [params for name, params in self.requests if name == op]

    def operations(self) -> list[str]:
        return [name for name, _ in self.requests]

    # ------------------------------------------------------------------ the service

    def handle(self, op: str, params: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append((op, params))
            try:
                return 200, getattr(self, f"_{op}")(params)
            except ServerlessError as exc:
                return 400, {"__type": exc.code, "message": str(exc)}
            except AttributeError:
                return 400, {"__type": "UnknownOperationException", "message": f"{op} is not implemented here"}

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:redshift-serverless:{self.region}:{self.account}:{kind}/{uuid.uuid5(uuid.NAMESPACE_DNS, name)}"

    def _public(self, resource: dict) -> dict:
        return {k: v for k, v in resource.items() if not k.startswith("_")}

    def _tick(self, key: str, store: dict, name: str) -> None:
        """One read of a resource in transition: CREATING -> AVAILABLE, DELETING -> gone."""
        resource = store.get(name)
        if resource is None or resource["status"] not in ("CREATING", "DELETING"):
            return
        left = self._countdown.get(key, 0)
        if left > 0:
            self._countdown[key] = left - 1
            return
        if resource["status"] == "DELETING":
            del store[name]
        else:
            resource["status"] = "AVAILABLE"
            if "endpoint" in resource:
                resource["endpoint"]["address"] = (f"{name}.{self.account}.{self.region}"
                                                   f".redshift-serverless.amazonaws.com")

    def _namespace(self, name: str) -> dict:
        self._tick(f"ns:{name}", self.namespaces, name)
        if name not in self.namespaces:
            raise ServerlessError("ResourceNotFoundException", f"namespace {name} not found")
        return self.namespaces[name]

    def _workgroup(self, name: str) -> dict:
        self._tick(f"wg:{name}", self.workgroups, name)
        if name not in self.workgroups:
            raise ServerlessError("ResourceNotFoundException", f"workgroup {name} not found")
        return self.workgroups[name]

    def _CreateNamespace(self, p: dict) -> dict:
        name = p["namespaceName"]
        if name in self.namespaces:
            raise ServerlessError("ConflictException", f"namespace {name} already exists")
        if bool(p.get("adminUserPassword")) == bool(p.get("manageAdminPassword")):
            raise ServerlessError("ValidationException", "give adminUserPassword or manageAdminPassword, not both")
        arn = self._arn("namespace", name)
        self.namespaces[name] = {
            "namespaceName": name, "namespaceArn": arn, "namespaceId": arn.rsplit("/", 1)[1], "status": "AVAILABLE",
            "dbName": p.get("dbName", "dev"), "adminUsername": p.get("adminUsername", "admin"),
            "defaultIamRoleArn": p.get("defaultIamRoleArn"),
            "iamRoles": [f"IamRole(applyStatus=in-sync, iamRoleArn={r})" for r in p.get("iamRoles", [])],
            "kmsKeyId": p.get("kmsKeyId", "AWS_OWNED_KMS_KEY"), "creationDate": time.time(),
        }
        self.tags[arn] = list(p.get("tags", []))
        return {"namespace": self._public(self.namespaces[name])}

    def _GetNamespace(self, p: dict) -> dict:
        return {"namespace": self._public(self._namespace(p["namespaceName"]))}

    def _UpdateNamespace(self, p: dict) -> dict:
        ns = self._namespace(p["namespaceName"])
        if "iamRoles" in p:
            ns["iamRoles"] = [f"IamRole(applyStatus=in-sync, iamRoleArn={r})" for r in p["iamRoles"]]
        if "defaultIamRoleArn" in p:
            ns["defaultIamRoleArn"] = p["defaultIamRoleArn"]
        return {"namespace": self._public(ns)}

    def _DeleteNamespace(self, p: dict) -> dict:
        ns = self._namespace(p["namespaceName"])
        if any(wg["namespaceName"] == ns["namespaceName"] for wg in self.workgroups.values()):
            raise ServerlessError("ConflictException", "a workgroup still uses the namespace")
        ns["status"] = "DELETING"
        self._countdown[f"ns:{ns['namespaceName']}"] = self.deleting_reads
        return {"namespace": self._public(ns)}

    def _CreateWorkgroup(self, p: dict) -> dict:
        name = p["workgroupName"]
        if name in self.workgroups:
            raise ServerlessError("ConflictException", f"workgroup {name} already exists")
        self._namespace(p["namespaceName"])
        config = {**CONFIG_DEFAULTS, **check_config_parameters(p.get("configParameters", []))}
        arn = self._arn("workgroup", name)
        self.workgroups[name] = {
            "workgroupName": name, "workgroupArn": arn, "workgroupId": arn.rsplit("/", 1)[1],
            "namespaceName": p["namespaceName"], "status": "CREATING", "baseCapacity": p.get("baseCapacity", 128),
            "publiclyAccessible": p.get("publiclyAccessible", False),
            "securityGroupIds": p.get("securityGroupIds", []), "subnetIds": p.get("subnetIds", []),
            "port": p.get("port", 5439), "endpoint": {"port": p.get("port", 5439)}, "creationDate": time.time(),
            "configParameters": [{"parameterKey": k, "parameterValue": v} for k, v in config.items()],
        }
        self.tags[arn] = list(p.get("tags", []))
        self._countdown[f"wg:{name}"] = self.creating_reads
        return {"workgroup": self._public(self.workgroups[name])}

    def _GetWorkgroup(self, p: dict) -> dict:
        return {"workgroup": self._public(self._workgroup(p["workgroupName"]))}

    def _UpdateWorkgroup(self, p: dict) -> dict:
        wg = self._workgroup(p["workgroupName"])
        if wg["status"] != "AVAILABLE":
            raise ServerlessError("ConflictException", f"workgroup {wg['workgroupName']} is {wg['status']}")
        changes = check_config_parameters(p.get("configParameters", []))
        config = {c["parameterKey"]: c["parameterValue"] for c in wg["configParameters"]} | changes
        wg["configParameters"] = [{"parameterKey": k, "parameterValue": v} for k, v in config.items()]
        for key in ("baseCapacity", "publiclyAccessible", "securityGroupIds", "subnetIds", "port"):
            if key in p:
                wg[key] = p[key]
        return {"workgroup": self._public(wg)}

    def _DeleteWorkgroup(self, p: dict) -> dict:
        wg = self._workgroup(p["workgroupName"])
        wg["status"] = "DELETING"
        self._countdown[f"wg:{wg['workgroupName']}"] = self.deleting_reads
        for key in [k for k, limit in self.usage_limits.items() if limit["resourceArn"] == wg["workgroupArn"]]:
            del self.usage_limits[key]
        return {"workgroup": self._public(wg)}

    def _ListTagsForResource(self, p: dict) -> dict:
        return {"tags": self.tags.get(p["resourceArn"], [])}

    def _CreateUsageLimit(self, p: dict) -> dict:
        if not any(wg["workgroupArn"] == p["resourceArn"] for wg in self.workgroups.values()):
            raise ServerlessError("ResourceNotFoundException", "no such workgroup")
        limit_id = str(uuid.uuid4())
        self.usage_limits[limit_id] = {
            "usageLimitId": limit_id, "usageLimitArn": f"arn:aws:redshift-serverless:{self.region}:{self.account}:"
                                                       f"usagelimit/{limit_id}",
            "resourceArn": p["resourceArn"], "usageType": p["usageType"], "amount": p["amount"],
            "period": p.get("period", "monthly"), "breachAction": p.get("breachAction", "log")}
        return {"usageLimit": self.usage_limits[limit_id]}

    def _ListUsageLimits(self, p: dict) -> dict:
        found = [u for u in self.usage_limits.values() if u["resourceArn"] == p.get("resourceArn", u["resourceArn"])
                 and u["usageType"] == p.get("usageType", u["usageType"])]
        return {"usageLimits": found} if found else {}  # the model does not allow an empty list

    def _UpdateUsageLimit(self, p: dict) -> dict:
        limit = self.usage_limits[p["usageLimitId"]]
        limit.update({k: p[k] for k in ("amount", "breachAction") if k in p})
        return {"usageLimit": limit}

    def _GetCredentials(self, p: dict) -> dict:
        self._workgroup(p["workgroupName"])
        return {"dbUser": "IAM:tester", "dbPassword": secrets.token_urlsafe(24),
                "expiration": time.time() + p.get("durationSeconds", 900)}
