"""A local stand-in for the Bedrock control plane, for tests and offline demos.

[Intent]
Real boto3 clients must be exercised (request signing, URL building, response
parsing into tz-aware datetimes, ``ClientError`` codes), but AWS is not always
reachable and moto does not implement these operations. :class:`FakeBedrockServer`
answers the four discovery operations, ``GetFoundationModelAvailability`` and the
six paginated listings of other invocation targets (provisioned throughput, custom
models and deployments, imported models, prompt routers, marketplace endpoints)
over HTTP on ``127.0.0.1`` exactly as the botocore service model expects, plus
STS ``GetCallerIdentity``. ``python -m dbp.llm.bedrock.discovery.testing`` runs
it from a shell.

[Design principles]
- Standard library only: importing this module never imports boto3.
- One server plays every region: the region (and the caller's access key) is read
  from the SigV4 ``Authorization`` header's credential scope, so a client built
  with ``region_name="eu-west-1"`` and this server's ``endpoint_url`` sees
  eu-west-1's catalogue.
- Faults on demand per region (optionally per operation): throttling (429),
  access denied (403), slow answers.
- Model access per account and region: available and authorized unless the
  catalogue or :meth:`FakeBedrockServer.set_access` says otherwise.
- Every request is counted per ``(region, operation)`` so a test can assert that a
  warm run made zero API calls.

[Implementation details]
Regions not in the catalogue answer 403 ``UnrecognizedClientException``, which is
what AWS answers for an opt-in region the account has not enabled.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .catalogue import (
    DEFAULT_ACCOUNT,
    RegionCatalog,
    application_profile,
    default_catalog,
    model_availability,
)
from .listings import list_page, owner_of
from .targets import LIST_KEYS
from .wire import Answer, caller_identity, error, json_answer, model_matches, operation_of

__all__ = ["FakeBedrockServer"]

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass
class _Fault:
    status: int
    code: str
    message: str
    remaining: int | None  # None: every request


class FakeBedrockServer:
    """
    [Class intent]
    A Bedrock-compatible HTTP endpoint on 127.0.0.1 (port chosen by the OS) that
    real boto3 clients talk to through ``endpoint_url``.

    [Design principles]
    Answers match the botocore service model: JSON bodies with ISO-8601
    timestamps, errors as ``x-amzn-ErrorType`` plus ``{"message": ...}``, paging by
    ``maxResults``/``nextToken``. Faults and delays are set per region at any time.

    [Implementation details]
    Use as a context manager or call :meth:`start`/:meth:`stop`. ``calls`` counts
    requests per ``(region, operation)``; ``page_size_cap`` bounds every page of
    the paginated ``List*`` operations so small catalogues still paginate.
    """

    def __init__(
        self,
        catalog: Mapping[str, RegionCatalog] | None = None,
        *,
        accounts: Mapping[str, str] | None = None,
        page_size_cap: int = 3,
        port: int = 0,
    ) -> None:
        """``accounts`` maps access key ids to account ids (others: ``DEFAULT_ACCOUNT``);
        ``port`` 0 lets the OS choose one."""
        self.catalog: dict[str, RegionCatalog] = dict(
            default_catalog() if catalog is None else catalog
        )
        self.accounts: dict[str, str] = dict(accounts or {})
        self.application_profiles: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: ``GetFoundationModelAvailability`` overrides by (account, region or None, model).
        self.access: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.page_size_cap = page_size_cap
        self.port = port
        self.calls: Counter[tuple[str, str]] = Counter()
        self._faults: dict[tuple[str, str | None], _Fault] = {}
        self._delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        """The ``endpoint_url`` to give boto3 clients."""
        if self._server is None:
            raise RuntimeError("FakeBedrockServer is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeBedrockServer:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # quick stop()
            name="fake-bedrock",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeBedrockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scenario controls ------------------------------------------------------
    # ``operation`` (e.g. "GetFoundationModelAvailability") limits a fault to one operation.
    def throttle(
        self, region: str, times: int | None = None, *, operation: str | None = None
    ) -> None:
        """Answer the next ``times`` requests for ``region`` (all if None) with 429."""
        self._set_fault(region, 429, "ThrottlingException", "Too many requests", times, operation)

    def deny(self, region: str, times: int | None = None, *, operation: str | None = None) -> None:
        """Answer requests for ``region`` with 403 ``AccessDeniedException``."""
        message = "User is not authorized to perform this bedrock action in this region."
        self._set_fault(region, 403, "AccessDeniedException", message, times, operation)

    def fail(
        self,
        region: str,
        status: int,
        code: str,
        times: int | None = None,
        *,
        operation: str | None = None,
    ) -> None:
        """Answer requests for ``region`` with any error."""
        self._set_fault(region, status, code, f"{code} (simulated)", times, operation)

    def delay(self, region: str, seconds: float) -> None:
        """Make every answer for ``region`` take at least ``seconds``."""
        with self._lock:
            self._delays[region] = seconds

    def heal(self, region: str | None = None) -> None:
        """Remove faults and delays (of one region, or all)."""
        with self._lock:
            for key in [k for k in self._faults if region in (None, k[0])]:
                del self._faults[key]
            if region is None:
                self._delays.clear()
            else:
                self._delays.pop(region, None)

    def set_access(
        self,
        model_id: str,
        *,
        account: str = DEFAULT_ACCOUNT,
        region: str | None = None,
        agreement: str = "AVAILABLE",
        authorization: str = "AUTHORIZED",
        entitlement: str = "AVAILABLE",
    ) -> None:
        """What ``GetFoundationModelAvailability`` tells ``account`` about a model.

        In ``region``, or every region when None; the region's own answer
        (listed or not) still decides ``regionAvailability``.
        """
        answer = model_availability(
            model_id, agreement=agreement, authorization=authorization, entitlement=entitlement
        )
        with self._lock:
            self.access[(account, region, model_id)] = answer

    def add_application_profile(
        self, account: str, region: str, name: str, model_id: str
    ) -> dict[str, Any]:
        """Create an ``APPLICATION`` profile visible only to ``account`` in ``region``."""
        profile = application_profile(name, model_id, region, account)
        with self._lock:
            self.application_profiles.setdefault((account, region), []).append(profile)
        return profile

    def count(self, region: str | None = None, operation: str | None = None) -> int:
        """Requests received, optionally for one region and/or operation."""
        with self._lock:
            return sum(
                n
                for (r, op), n in self.calls.items()
                if (region is None or r == region) and (operation is None or op == operation)
            )

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- request handling (called from server threads) ----------------------------
    def _set_fault(
        self,
        region: str,
        status: int,
        code: str,
        message: str,
        times: int | None,
        operation: str | None,
    ) -> None:
        with self._lock:
            self._faults[(region, operation)] = _Fault(status, code, message, times)

    def _take_fault(self, region: str, operation: str) -> _Fault | None:
        with self._lock:
            key = (region, operation) if (region, operation) in self._faults else (region, None)
            fault = self._faults.get(key)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[key]
            return fault

    def _account_of(self, access_key: str) -> str:
        return self.accounts.get(access_key, DEFAULT_ACCOUNT)

    def handle(self, method: str, target: str, auth: str, body: bytes) -> Answer:
        """Answer one request: ``(status, headers, body)``."""
        scope = _SCOPE.search(auth)
        access_key, region, service = scope.groups() if scope else ("anonymous", "?", "?")
        parts = urlsplit(target)
        operation = operation_of(method, parts.path, service)
        with self._lock:
            self.calls[(region, operation)] += 1
            delay = self._delays.get(region, 0.0)
        if delay:
            time.sleep(delay)
        fault = self._take_fault(region, operation)
        if fault is not None:
            return error(fault.status, fault.code, fault.message)
        account = self._account_of(access_key)
        if operation == "GetCallerIdentity":
            return caller_identity(access_key, account)
        catalog = self.catalog.get(region)
        if catalog is None:
            return error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if operation == "ListFoundationModels":
            models = [m for m in catalog.models if model_matches(m, query)]
            return json_answer({"modelSummaries": models})
        if operation == "GetFoundationModel":
            wanted = unquote(parts.path.split("/", 2)[2])
            for model in catalog.models:
                if wanted in (model["modelId"], model["modelArn"]):
                    return json_answer({"modelDetails": model})
            return error(404, "ResourceNotFoundException", f"Model {wanted} not found.")
        if operation == "GetFoundationModelAvailability":
            return self._availability(catalog, account, region, unquote(parts.path.split("/")[2]))
        if operation in LIST_KEYS and operation != "ListInferenceProfiles":
            targets = self._targets_for(catalog, account, operation)
            return list_page(operation, targets, query, self.page_size_cap)
        profiles = self._profiles_for(catalog, account, region)
        if operation == "ListInferenceProfiles":
            return list_page(operation, profiles, query, self.page_size_cap)
        if operation == "GetInferenceProfile":
            wanted = unquote(parts.path.split("/", 2)[2])
            for profile in profiles:
                if wanted in (profile["inferenceProfileId"], profile["inferenceProfileArn"]):
                    return json_answer(profile)
            return error(404, "ResourceNotFoundException", f"Profile {wanted} not found.")
        return error(404, "UnknownOperationException", f"{method} {parts.path}")

    def _profiles_for(
        self, catalog: RegionCatalog, account: str, region: str
    ) -> list[dict[str, Any]]:
        """System profiles carry the serving region and caller's account in their ARN, as on AWS."""
        profiles = []
        for template in catalog.profiles:
            profile = copy.deepcopy(template)
            arn = profile["inferenceProfileArn"].split(":")
            arn[3], arn[4] = region, account
            profile["inferenceProfileArn"] = ":".join(arn)
            profiles.append(profile)
        with self._lock:
            profiles += copy.deepcopy(self.application_profiles.get((account, region), []))
        return profiles

    def _availability(
        self, catalog: RegionCatalog, account: str, region: str, model_id: str
    ) -> Answer:
        """Account override, else the region's answer; NOT_AVAILABLE where not listed."""
        listed = any(m["modelId"] == model_id for m in catalog.models)
        if not listed and not any(
            m["modelId"] == model_id for c in self.catalog.values() for m in c.models
        ):
            return error(404, "ResourceNotFoundException", f"Model {model_id} not found.")
        with self._lock:
            override = self.access.get((account, region, model_id)) or self.access.get(
                (account, None, model_id)
            )
        answer = copy.deepcopy(
            override or catalog.access.get(model_id) or model_availability(model_id)
        )
        if not listed:
            answer["regionAvailability"] = "NOT_AVAILABLE"
        return json_answer(answer)

    @staticmethod
    def _targets_for(catalog: RegionCatalog, account: str, operation: str) -> list[dict[str, Any]]:
        """The caller's own targets, and AWS's default prompt routers (ARN naming the caller)."""
        found = []
        for item in catalog.targets.get(operation, []):
            if item.get("type") == "default" and "promptRouterArn" in item:
                arn = item["promptRouterArn"].split(":", 5)
                arn[4] = account
                found.append({**item, "promptRouterArn": ":".join(arn)})
            elif owner_of(item) == account:
                found.append(item)
        return found


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBedrockServer
    protocol_version = "HTTP/1.1"
    # Head and body leave in one write (``wfile`` is buffered; the base class flushes it
    # after each request) and without Nagle's algorithm: a small head then a small
    # body, written apart, waited ~40 ms for the client's delayed ACK.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def _respond(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.fake.handle(
            self.command, self.path, self.headers.get("Authorization", ""), body
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", "fake-request")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)  # buffered: sent with the head when the request ends

    do_GET = _respond
    do_POST = _respond

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and demos read counts, not access logs."""
