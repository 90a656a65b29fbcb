"""Names that vulture (`make lint`) would report as unused but a framework uses: vulture sees only our code.

Each entry is a real reference, so ruff and mypy check that it still exists. Handlers registered by
decorators (kopf, click, pytest fixtures, pydantic validators) are not listed: the Makefile's
`--ignore-decorators` covers them. Anything else vulture finds is dead code: remove it, do not add it here.
"""

# ruff: noqa: B018  (a whitelist is a list of expressions that only name what they use)

import logging

import kopf
import yaml
from kubernetes.client.api_client import ApiClient
from tests.api.test_crd_file import _Bounded, _Inexact

from erpsync.api import models
from erpsync.controller.kopf_storage import NoDiffBase, NoProgress
from erpsync_emulators.procore.emulator import _RequestHandler, _Server

# Pydantic fields that no Python code reads by name: pydantic validates and serialises them, and the CRD
# schema is generated from them (`erp-sync crd`).
models.Toleration.effect  # copied into the worker Pods' tolerations
models.Toleration.toleration_seconds
models.ResourceRequirements.limits  # copied into the worker containers' resources
models.Condition.observed_generation  # status fields: the CRD's status schema
models.SyncStatus.last_successful_time
models.ErpSyncScheduleStatus.last_sync_time
models.ErpSyncScheduleStatus.next_sync_time  # the NEXT SYNC column
models.RunTotals.partially_failed  # read by the kubectl plugin through the JSON
models.ObjectMeta.generate_name  # metadata a client may send: declared so that validation accepts it
models.ObjectMeta.self_link
models.ObjectMeta.resource_version
models.ObjectMeta.creation_timestamp
models.ObjectMeta.deletion_timestamp
models.ObjectMeta.deletion_grace_period_seconds
models.ObjectMeta.owner_references
models.ObjectMeta.finalizers
models.ObjectMeta.managed_fields
models.ApiModel.model_config  # pydantic reads every model's configuration
_Bounded.int64  # tests/api/test_crd_file.py: models whose schema the test generates
_Bounded.positive
_Inexact.huge

# kopf's settings, set by the startup handler (controller/handlers.py) and read by kopf.
kopf.OperatorSettings.persistence.finalizer
kopf.OperatorSettings.persistence.diffbase_storage
kopf.OperatorSettings.persistence.progress_storage
kopf.OperatorSettings.posting.enabled
kopf.OperatorSettings.watching.connect_timeout
kopf.OperatorSettings.watching.chunk_size
kopf.OperatorSettings.networking.request_timeout
kopf.OperatorSettings.queueing.idle_timeout

# kopf's storage interfaces, implemented by controller/kopf_storage.py and called by kopf.
NoDiffBase.fetch
NoProgress.fetch
NoProgress.purge
NoProgress.touch


# kopf calls `DiffBaseStorage.build(body=..., extra_fields=...)` by keyword, so NoDiffBase.build keeps the
# parameter's name though it keeps nothing.
def _named_by_kopf(extra_fields: object) -> object:
    return extra_fields


_named_by_kopf


# The standard library's HTTP server reads these on the Procore emulator's server and handler classes.
_Server.daemon_threads
_Server.allow_reuse_address
_RequestHandler.protocol_version
_RequestHandler.server_version
_RequestHandler.close_connection
_RequestHandler.do_GET
_RequestHandler.do_POST
_RequestHandler.do_PATCH
_RequestHandler.do_PUT
_RequestHandler.do_DELETE
_RequestHandler.log_message

# Overrides of library hooks.
yaml.SafeDumper.ignore_aliases  # api/manifests.py: PyYAML asks whether to write an anchor
ApiClient.user_agent  # kubectl_plugin/client.py: the official client sends it with every request
logging.LogRecord.msg  # erpsync_worker/logs.py: the redacting filter rewrites the record's message
