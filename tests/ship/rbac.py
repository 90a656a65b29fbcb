"""A small RBAC evaluator: would Kubernetes' RBAC authorizer allow this call by that ServiceAccount?

It reads rendered Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, and follows the rules of
https://kubernetes.io/docs/reference/access-authn-authz/rbac/:

- a ClusterRoleBinding grants its ClusterRole's rules everywhere: in every namespace and on
  cluster-scoped resources (and on namespaced resources across all namespaces);
- a RoleBinding grants its Role's (or ClusterRole's) rules in the binding's namespace only;
- a rule matches when its apiGroups, resources (`plural`, `plural/subresource`, `*`, `*/subresource`)
  and verbs contain the call's (or `*`), and when its resourceNames, if any, contain the call's name;
- an aggregated ClusterRole's rules are those of the ClusterRoles its selectors match.

Non-resource URLs (discovery: /api, /apis, /version) are outside it: every authenticated client is
granted them by the built-in `system:discovery` and `system:public-info-viewer` roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RBAC_API = "rbac.authorization.k8s.io/v1"


@dataclass(frozen=True, order=True)
class Call:
    """One API request: verb, API group ("" for core), resource (with "/subresource"), namespace, name."""

    verb: str
    group: str
    resource: str
    namespace: str | None  # None: a cluster-scoped request (or a namespaced resource across all namespaces)
    name: str | None = None

    @classmethod
    def parse(cls, verb: str, resource: str, namespace: str | None, name: str | None = None) -> Call:
        """From a qualified resource: "cronjobs.batch", "erpsyncschedules.erpsync.io/status", "pods"."""
        qualified, _, subresource = resource.partition("/")
        plural, _, group = qualified.partition(".")
        return cls(verb, group, f"{plural}/{subresource}" if subresource else plural, namespace, name)

    def scope(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "cluster-wide"

    def __str__(self) -> str:
        group = self.group or "core"
        return f"{self.verb} {group}/{self.resource} ({self.scope()})"


@dataclass(frozen=True)
class Rule:
    api_groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]
    resource_names: frozenset[str]

    @classmethod
    def parse(cls, rule: Mapping[str, Any]) -> Rule:
        return cls(
            frozenset(rule.get("apiGroups") or ()),
            frozenset(rule.get("resources") or ()),
            frozenset(rule.get("verbs") or ()),
            frozenset(rule.get("resourceNames") or ()),
        )

    def matches(self, call: Call) -> bool:
        if not ({call.verb, "*"} & self.verbs and {call.group, "*"} & self.api_groups):
            return False
        _, slash, subresource = call.resource.partition("/")
        if not ({call.resource, "*"} & self.resources or (slash and f"*/{subresource}" in self.resources)):
            return False
        return not self.resource_names or (call.name is not None and call.name in self.resource_names)


@dataclass(frozen=True)
class Grant:
    """Rules given to a subject, everywhere (`namespace` None) or in one namespace."""

    rules: tuple[Rule, ...]
    namespace: str | None

    def allows(self, call: Call) -> bool:
        if self.namespace is not None and call.namespace != self.namespace:
            return False
        return any(rule.matches(call) for rule in self.rules)


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str

    def is_subject(self, subject: Mapping[str, Any]) -> bool:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "ServiceAccount":
            return name == self.name and subject.get("namespace") == self.namespace
        if kind == "Group":
            return name in (
                "system:authenticated",
                "system:serviceaccounts",
                f"system:serviceaccounts:{self.namespace}",
            )
        if kind == "User":
            return name == f"system:serviceaccount:{self.namespace}:{self.name}"
        return False


class Rbac:
    """The RBAC objects of a set of manifests (other kinds are ignored)."""

    def __init__(self, objects: Iterable[Mapping[str, Any]]) -> None:
        rbac = [obj for obj in objects if obj.get("apiVersion") == RBAC_API]
        self.cluster_roles = {obj["metadata"]["name"]: obj for obj in rbac if obj["kind"] == "ClusterRole"}
        self.roles = {
            (obj["metadata"]["namespace"], obj["metadata"]["name"]): obj for obj in rbac if obj["kind"] == "Role"
        }
        self.bindings = [obj for obj in rbac if obj["kind"] in ("RoleBinding", "ClusterRoleBinding")]

    def cluster_role_rules(self, name: str) -> tuple[Rule, ...]:
        role = self.cluster_roles.get(name)
        if role is None:
            return ()  # a dangling roleRef grants nothing (Kubernetes does the same)
        aggregation = role.get("aggregationRule")
        if aggregation is None:
            return tuple(Rule.parse(rule) for rule in role.get("rules") or ())
        rules: list[Rule] = []
        for selector in aggregation.get("clusterRoleSelectors") or ():
            assert not selector.get("matchExpressions"), "this evaluator reads matchLabels only"
            wanted = dict(selector.get("matchLabels") or {})
            for other_name, other in self.cluster_roles.items():
                labels = other["metadata"].get("labels") or {}
                if other_name != name and all(labels.get(key) == value for key, value in wanted.items()):
                    rules += self.cluster_role_rules(other_name)
        return tuple(rules)

    def role_rules(self, namespace: str, name: str) -> tuple[Rule, ...]:
        role = self.roles.get((namespace, name))
        return tuple(Rule.parse(rule) for rule in (role or {}).get("rules") or ())

    def grants(self, account: ServiceAccount) -> list[Grant]:
        """Every grant of the account, from the bindings that name it."""
        found: list[Grant] = []
        for binding in self.bindings:
            if not any(account.is_subject(subject) for subject in binding.get("subjects") or ()):
                continue
            ref = binding["roleRef"]
            label = f"{binding['kind']} {binding['metadata'].get('namespace', '')}/{binding['metadata']['name']}"
            if binding["kind"] == "ClusterRoleBinding":
                assert ref["kind"] == "ClusterRole", f"{label} must refer to a ClusterRole"
                found.append(Grant(self.cluster_role_rules(ref["name"]), None))
                continue
            namespace = binding["metadata"]["namespace"]
            rules = (
                self.cluster_role_rules(ref["name"])
                if ref["kind"] == "ClusterRole"
                else self.role_rules(namespace, ref["name"])
            )
            found.append(Grant(rules, namespace))
        return found

    def granted(self, account: ServiceAccount) -> set[tuple[str | None, str, str, str]]:
        """Every (namespace, group, resource, verb) the account is granted; namespace None: everywhere."""
        return {
            (grant.namespace, group, resource, verb)
            for grant in self.grants(account)
            for rule in grant.rules
            for group in rule.api_groups
            for resource in rule.resources
            for verb in rule.verbs
        }

    def allows(self, account: ServiceAccount, call: Call) -> bool:
        return any(grant.allows(call) for grant in self.grants(account))

    def all_rules(self) -> list[tuple[str, Mapping[str, Any]]]:
        """Every rule of every Role and ClusterRole, with the role's name."""
        roles = [*self.cluster_roles.values(), *self.roles.values()]
        return [
            (f"{role['kind']} {role['metadata']['name']}", rule) for role in roles for rule in role.get("rules") or ()
        ]
